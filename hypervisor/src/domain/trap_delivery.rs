//! Entering the guest's own handlers (exceptions and the event upcall) and
//! returning from them (the `iret` hypercall).
//!
//! Delivery pushes an [`ExceptionFrame`] on the guest's current stack and
//! resumes the guest at its handler with virtual interrupts masked; see
//! `shared_abi::trap` for the contract. A guest with no handler for the
//! vector, whose stack cannot take the frame, or whose handler faults on its
//! first instruction is not entered: the caller stops it.

use shared_abi::Status;
use shared_abi::trap::{ExceptionFrame, UPCALL_VECTOR};

use super::record::Domain;
use crate::mm::address::{GuestVirtAddr, align_down, is_lower_half};

const FRAME_SIZE: u64 = core::mem::size_of::<ExceptionFrame>() as u64;
const RFLAGS_TF: u64 = 1 << 8;
const RFLAGS_AC: u64 = 1 << 18;

/// Why a handler could not be entered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undeliverable {
    /// No handler registered for the vector.
    NoHandler,
    /// The frame could not be written to the guest's stack.
    BadStack,
    /// The fault happened at the handler's own first instruction: entering
    /// the handler again would fault again.
    HandlerFaulted,
}

/// Enters the domain's handler for exception `vector`.
pub fn deliver(
    domain: &mut Domain,
    vector: u8,
    error_code: u64,
    fault_address: u64,
) -> Result<(), Undeliverable> {
    let handler = domain.traps.get(vector as usize).copied().unwrap_or(0);
    enter(domain, handler, vector as u64, error_code, fault_address)
}

/// Enters the domain's event callback (the caller checked it is due).
pub fn deliver_upcall(domain: &mut Domain) -> Result<(), Undeliverable> {
    enter(domain, domain.callback, UPCALL_VECTOR, 0, 0)
}

/// Pushes a frame and resumes the guest at `handler` with virtual
/// interrupts masked (the previous mask is saved in the frame).
fn enter(
    domain: &mut Domain,
    handler: u64,
    vector: u64,
    error_code: u64,
    fault_address: u64,
) -> Result<(), Undeliverable> {
    if handler == 0 {
        return Err(Undeliverable::NoHandler);
    }
    let regs = domain.vcpu.regs;
    if regs.rip == handler && vector != UPCALL_VECTOR {
        return Err(Undeliverable::HandlerFaulted);
    }
    let frame = ExceptionFrame {
        rax: regs.rax,
        rcx: regs.rcx,
        r11: regs.r11,
        vector,
        error_code,
        fault_address,
        rip: regs.rip,
        rflags: regs.rflags,
        rsp: regs.rsp,
        saved_mask: domain.upcall_mask() as u64,
    };
    let top = align_down(regs.rsp.wrapping_sub(FRAME_SIZE), 16);
    if top > regs.rsp || !is_lower_half(top) {
        return Err(Undeliverable::BadStack);
    }
    domain
        .write_guest(GuestVirtAddr(top), &frame.to_bytes())
        .map_err(|_| Undeliverable::BadStack)?;
    domain.vcpu.regs.rsp = top;
    domain.vcpu.regs.rip = handler;
    // As an interrupt gate would: no single-stepping into the handler, and
    // no alignment checks in it (the frame keeps the original flags).
    domain.vcpu.regs.rflags &= !(RFLAGS_TF | RFLAGS_AC);
    domain.set_upcall_mask(1);
    Ok(())
}

/// Restores the frame at the guest's `rsp` (the `iret` hypercall),
/// including the virtual interrupt mask. An upcall that became due is
/// delivered before the guest runs again (by the dispatcher).
pub fn iret(domain: &mut Domain) -> Result<u64, Status> {
    let mut bytes = [0u8; FRAME_SIZE as usize];
    domain.read_guest(GuestVirtAddr(domain.vcpu.regs.rsp), &mut bytes)?;
    let frame = ExceptionFrame::from_bytes(&bytes);
    if !is_lower_half(frame.rip) || !is_lower_half(frame.rsp) {
        return Err(Status::InvalidArgument);
    }
    let regs = &mut domain.vcpu.regs;
    regs.rip = frame.rip;
    regs.rsp = frame.rsp;
    regs.rflags = frame.rflags;
    regs.rcx = frame.rcx;
    regs.r11 = frame.r11;
    domain.set_upcall_mask(u8::from(frame.saved_mask != 0));
    Ok(frame.rax)
}

/// Registers `handler` for `vector` (0 removes it).
pub fn set_handler(domain: &mut Domain, vector: u64, handler: u64) -> Result<u64, Status> {
    let slot = domain
        .traps
        .get_mut(vector as usize)
        .ok_or(Status::InvalidArgument)?;
    if handler != 0 && !is_lower_half(handler) {
        return Err(Status::BadAddress);
    }
    *slot = handler;
    Ok(0)
}
