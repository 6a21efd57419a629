//! Entering the guest's own handlers (exceptions and the event upcall) and
//! returning from them (the `iret` hypercall).
//!
//! Delivery pushes an [`ExceptionFrame`] on the guest's current stack and
//! resumes the guest at its handler with virtual interrupts masked; see
//! `shared_abi::trap` for the contract. From guest-user mode it enters the
//! guest kernel instead: the frame (marked [`USER_MODE`]) goes on the
//! registered kernel stack and the kernel's view of the shadow is loaded;
//! a `syscall` made there is delivered the same way, to the system-call
//! entry ([`deliver_syscall`]). `iret` to a frame marked [`USER_MODE`]
//! returns to guest-user mode (`crate::domain::privilege`). A guest with no handler for the
//! vector, whose stack cannot take the frame, or whose handler faults on its
//! first instruction is not entered: the caller stops it. An emulated
//! domain that loaded a virtual IDT (which forgets the handlers
//! registered by hypercall) is entered through it instead
//! ([`virtual_idt`]), with the frame the CPU would push, for
//! every vector no handler is registered for again by hypercall.

use shared_abi::Status;
use shared_abi::trap::{ExceptionFrame, SYSCALL_VECTOR, UPCALL_VECTOR, USER_MODE};

use super::record::Domain;
use super::vcpu::Context;
use super::virtual_idt;
use crate::arch::x86_64::registers::RFLAGS_TF;
use crate::mm::address::{GuestVirtAddr, align_down, is_guest_address};
use crate::mm::shadow::View;

const FRAME_SIZE: u64 = core::mem::size_of::<ExceptionFrame>() as u64;
const RFLAGS_AC: u64 = 1 << 18;
const RFLAGS_DF: u64 = 1 << 10;
/// The invalid-opcode exception: what a `syscall` from guest-user mode
/// raises while the guest kernel has no system-call entry (as the CPU
/// does with system calls disabled).
const INVALID_OPCODE: u8 = 6;
/// Bits of a frame's `saved_mask` that hold the virtual interrupt mask.
const MASK_BITS: u64 = 0xff;

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

/// Enters the guest kernel's system-call entry for a `syscall` made in
/// guest-user mode (`context` as the instruction left it: `rip` after it);
/// without an entry, delivers #UD. Inlined into each caller, as
/// [`deliver`].
#[inline(always)]
pub fn deliver_syscall(
    domain: &mut Domain,
    context: &mut impl Context,
) -> Result<(), Undeliverable> {
    match domain.privilege().syscall_entry() {
        0 => deliver(domain, context, INVALID_OPCODE, 0, 0),
        entry => enter(domain, context, entry, SYSCALL_VECTOR, 0, 0),
    }
}

/// Pushes a frame and resumes the guest at `handler` with virtual
/// interrupts masked (the previous mask is saved in the frame), on the
/// current stack, or from guest-user mode on the guest kernel's stack in
/// guest-kernel mode. Inlined into each caller: the reflected-fault,
/// upcall and system-call paths; an entry from guest-user mode takes its
/// own copy out of line, so the guest kernel's paths pay one test for it.
#[inline(always)]
fn enter(
    domain: &mut Domain,
    context: &mut impl Context,
    handler: u64,
    vector: u64,
    error_code: u64,
    fault_address: u64,
) -> Result<(), Undeliverable> {
    if domain.privilege().is_user() {
        return enter_from_user(domain, context, handler, vector, error_code, fault_address);
    }
    enter_from::<false>(domain, context, handler, vector, error_code, fault_address)
}

/// [`enter`] from guest-user mode.
#[inline(never)]
fn enter_from_user(
    domain: &mut Domain,
    context: &mut impl Context,
    handler: u64,
    vector: u64,
    error_code: u64,
    fault_address: u64,
) -> Result<(), Undeliverable> {
    enter_from::<true>(domain, context, handler, vector, error_code, fault_address)
}

/// [`enter`] from the mode `USER` says.
#[inline(always)]
fn enter_from<const USER: bool>(
    domain: &mut Domain,
    context: &mut impl Context,
    handler: u64,
    vector: u64,
    error_code: u64,
    fault_address: u64,
) -> Result<(), Undeliverable> {
    if handler == 0 {
        if USER {
            return Err(Undeliverable::NoHandler);
        }
        return through_virtual_idt(domain, context, vector, error_code, fault_address);
    }
    let (rip, rsp) = (context.rip(), context.rsp());
    // A handler that faults at once would fault forever; user code that
    // jumps to the handler's address only faults in user mode.
    if rip == handler && vector != UPCALL_VECTOR && !USER {
        return Err(Undeliverable::HandlerFaulted);
    }
    let (stack, mode_bit) = match USER {
        true => (domain.privilege().kernel_stack(), USER_MODE),
        false => (rsp, 0),
    };
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
        saved_mask: domain.upcall_mask() as u64 | mode_bit,
    };
    let top = align_down(stack.wrapping_sub(FRAME_SIZE), 16);
    if top > stack || !is_guest_address(top) || (USER && stack == 0) {
        return Err(Undeliverable::BadStack);
    }
    // From user mode, the kernel's view first: the frame is written through
    // its translation of the kernel stack (the user view never has one).
    if USER {
        domain.privilege_mut().enter_kernel();
        domain.load_view(View::Kernel);
    }
    if domain
        .write_guest(GuestVirtAddr(top), &frame.to_bytes())
        .is_err()
    {
        if USER {
            // Still in user mode: the caller stops the domain from there.
            let _ = domain.privilege_mut().enter_user();
            domain.load_view(View::User);
        }
        return Err(Undeliverable::BadStack);
    }
    // As an interrupt gate would: no single-stepping into the handler, and
    // no alignment checks in it (the frame keeps the original flags); a
    // guest kernel entered from user code also gets the direction flag
    // clear, as `syscall` entry gives a kernel.
    let mut flags = frame.rflags & !(RFLAGS_TF | RFLAGS_AC);
    if USER {
        flags &= !RFLAGS_DF;
    }
    context.set_rsp(top);
    context.set_rip(handler);
    context.set_rflags(flags);
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
    virtual_idt::deliver(domain, context, vector as u8, error_code, fault_address)
}

/// Forgets every handler registered by hypercall (the exception handlers
/// and the upcall entry): an emulated `lidt` hands delivery to the
/// virtual IDT.
pub fn clear_handlers(domain: &mut Domain) {
    domain.traps = [0; shared_abi::trap::VECTORS as usize];
    domain.set_callback(0);
}

/// Restores the frame at the guest's `rsp` (the `iret` hypercall) into
/// `context`, including the virtual interrupt mask, and returns to
/// guest-user mode if the frame is marked [`USER_MODE`] (refused while no
/// kernel stack is registered); returns the frame's `rax`. An upcall that
/// became due is delivered before the guest runs again (by the
/// dispatcher).
pub fn iret(domain: &mut Domain, context: &mut impl Context) -> Result<u64, Status> {
    let mut bytes = [0u8; FRAME_SIZE as usize];
    domain.read_guest(GuestVirtAddr(context.rsp()), &mut bytes)?;
    let frame = ExceptionFrame::from_bytes(&bytes);
    if !is_guest_address(frame.rip) || !is_guest_address(frame.rsp) {
        return Err(Status::InvalidArgument);
    }
    if frame.is_user() {
        domain.privilege_mut().enter_user()?;
        domain.load_view(View::User);
    }
    context.set_rip(frame.rip);
    context.set_rsp(frame.rsp);
    context.set_rflags(frame.rflags);
    context.set_rcx(frame.rcx);
    context.set_r11(frame.r11);
    domain.set_upcall_mask(u8::from(frame.saved_mask & MASK_BITS != 0));
    Ok(frame.rax)
}

/// Registers `handler` for `vector` (0 removes it).
pub fn set_handler(domain: &mut Domain, vector: u64, handler: u64) -> Result<(), Status> {
    let slot = domain
        .traps
        .get_mut(vector as usize)
        .ok_or(Status::InvalidArgument)?;
    if handler != 0 && !is_guest_address(handler) {
        return Err(Status::BadAddress);
    }
    *slot = handler;
    Ok(())
}
