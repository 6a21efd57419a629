//! Entering the guest's own handlers (exceptions and the event upcall) and
//! returning from them (the `iret` hypercall).
//!
//! Delivery pushes an [`ExceptionFrame`] on the guest's current stack and
//! resumes the guest at its handler with virtual interrupts masked; see
//! `shared_abi::trap` for the contract. A guest with no handler for the
//! vector, whose stack cannot take the frame, or whose handler faults on its
//! first instruction is not entered: the caller stops it. An emulated
//! domain that loaded a virtual IDT (which forgets the handlers
//! registered by hypercall) is entered through it instead
//! (`crate::emulate::delivery`), with the frame the CPU would push, for
//! every vector no handler is registered for again by hypercall.

use shared_abi::Status;
use shared_abi::trap::{ExceptionFrame, UPCALL_VECTOR};

use super::record::Domain;
use super::vcpu::Context;
use crate::arch::x86_64::registers::RFLAGS_TF;
use crate::emulate::delivery;
use crate::mm::address::{GuestVirtAddr, align_down, is_lower_half};

const FRAME_SIZE: u64 = core::mem::size_of::<ExceptionFrame>() as u64;
const RFLAGS_AC: u64 = 1 << 18;

pub use super::undeliverable::Undeliverable;

/// Enters the domain's handler for exception `vector`, from `context`
/// (the domain's own, live or saved). Inlined into each caller (the
/// reflected-fault path is a measured one).
#[inline(always)]
pub fn deliver(
    domain: &mut Domain,
    context: &mut impl Context,
    vector: u8,
    error_code: u64,
    fault_address: u64,
) -> Result<(), Undeliverable> {
    let handler = domain.traps.get(vector as usize).copied().unwrap_or(0);
    enter(
        domain,
        context,
        handler,
        vector as u64,
        error_code,
        fault_address,
    )?;
    domain.counters_mut().reflected();
    Ok(())
}

/// Enters the domain's event callback (the caller checked it is due).
/// Inlined into each caller, as [`deliver`].
#[inline(always)]
pub fn deliver_upcall(
    domain: &mut Domain,
    context: &mut impl Context,
) -> Result<(), Undeliverable> {
    enter(domain, context, domain.callback(), UPCALL_VECTOR, 0, 0)
}

/// Pushes a frame and resumes the guest at `handler` with virtual
/// interrupts masked (the previous mask is saved in the frame). Inlined
/// into both callers: the reflected-fault and upcall paths.
#[inline(always)]
fn enter(
    domain: &mut Domain,
    context: &mut impl Context,
    handler: u64,
    vector: u64,
    error_code: u64,
    fault_address: u64,
) -> Result<(), Undeliverable> {
    if handler == 0 {
        return through_virtual_idt(domain, context, vector, error_code, fault_address);
    }
    let (rip, rsp) = (context.rip(), context.rsp());
    if rip == handler && vector != UPCALL_VECTOR {
        return Err(Undeliverable::HandlerFaulted);
    }
    let frame = ExceptionFrame {
        rax: context.rax(),
        rcx: context.rcx(),
        r11: context.r11(),
        vector,
        error_code,
        fault_address,
        rip,
        rflags: context.rflags(),
        rsp,
        saved_mask: domain.upcall_mask() as u64,
    };
    let top = align_down(rsp.wrapping_sub(FRAME_SIZE), 16);
    if top > rsp || !is_lower_half(top) {
        return Err(Undeliverable::BadStack);
    }
    domain
        .write_guest(GuestVirtAddr(top), &frame.to_bytes())
        .map_err(|_| Undeliverable::BadStack)?;
    context.set_rsp(top);
    context.set_rip(handler);
    // As an interrupt gate would: no single-stepping into the handler, and
    // no alignment checks in it (the frame keeps the original flags).
    context.set_rflags(frame.rflags & !(RFLAGS_TF | RFLAGS_AC));
    domain.set_upcall_mask(1);
    Ok(())
}

/// Without a handler registered by hypercall: the virtual IDT of an
/// emulated domain that loaded one, or nowhere.
#[cold]
#[inline(never)]
fn through_virtual_idt(
    domain: &mut Domain,
    context: &mut impl Context,
    vector: u64,
    error_code: u64,
    fault_address: u64,
) -> Result<(), Undeliverable> {
    if !domain.uses_virtual_idt() {
        return Err(Undeliverable::NoHandler);
    }
    delivery::deliver(domain, context, vector as u8, error_code, fault_address)
}

/// Forgets every handler registered by hypercall (the exception handlers
/// and the upcall entry): an emulated `lidt` hands delivery to the
/// virtual IDT.
pub fn clear_handlers(domain: &mut Domain) {
    domain.traps = [0; shared_abi::trap::VECTORS as usize];
    domain.set_callback(0);
}

/// Restores the frame at the guest's `rsp` (the `iret` hypercall) into
/// `context`, including the virtual interrupt mask; returns the frame's
/// `rax`. An upcall that became due is delivered before the guest runs
/// again (by the dispatcher).
pub fn iret(domain: &mut Domain, context: &mut impl Context) -> Result<u64, Status> {
    let mut bytes = [0u8; FRAME_SIZE as usize];
    domain.read_guest(GuestVirtAddr(context.rsp()), &mut bytes)?;
    let frame = ExceptionFrame::from_bytes(&bytes);
    if !is_lower_half(frame.rip) || !is_lower_half(frame.rsp) {
        return Err(Status::InvalidArgument);
    }
    context.set_rip(frame.rip);
    context.set_rsp(frame.rsp);
    context.set_rflags(frame.rflags);
    context.set_rcx(frame.rcx);
    context.set_r11(frame.r11);
    domain.set_upcall_mask(u8::from(frame.saved_mask != 0));
    Ok(frame.rax)
}

/// Registers `handler` for `vector` (0 removes it).
pub fn set_handler(domain: &mut Domain, vector: u64, handler: u64) -> Result<(), Status> {
    let slot = domain
        .traps
        .get_mut(vector as usize)
        .ok_or(Status::InvalidArgument)?;
    if handler != 0 && !is_lower_half(handler) {
        return Err(Status::BadAddress);
    }
    *slot = handler;
    Ok(())
}
