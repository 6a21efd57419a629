//! Exception handling for guests: one entry stub for every vector, and a
//! table of Rust handlers it dispatches to.
//!
//! [`set_handler`] records a handler and registers the stub with the
//! hypervisor for that vector. On an exception, the stub saves the
//! caller-saved registers the frame does not hold, calls the handler with
//! the [`ExceptionFrame`], restores them, and returns with the `iret`
//! hypercall (which restores `rax`, `rcx`, `r11`, `rip`, `rflags` and `rsp`
//! from the frame, including any change the handler made).
//!
//! Handlers run on the stack of the code that faulted, with virtual
//! interrupts as they were. Needs no setup before [`set_handler`].
//!
//! ```no_run
//! use shared_abi::guest::trap;
//! use shared_abi::trap::ExceptionFrame;
//! fn skip_ud2(frame: &mut ExceptionFrame) {
//!     frame.rip += 2; // resume after the two-byte `ud2`
//! }
//! trap::set_handler(6, skip_ud2)?; // invalid opcode
//! # Ok::<(), shared_abi::Status>(())
//! ```

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::hypercall::request::SetTrapHandler;
use crate::trap::{ExceptionFrame, VECTORS};
use crate::{Hypercall, Status};

/// A guest exception handler. It may edit the frame (for example to skip
/// the faulting instruction); the guest resumes as the frame then says.
pub type TrapHandler = fn(&mut ExceptionFrame);

static HANDLERS: [AtomicUsize; VECTORS as usize] =
    [const { AtomicUsize::new(0) }; VECTORS as usize];

/// Installs `handler` for exception `vector` (0..32; the constants in
/// [`crate::trap`]) and registers the entry stub for it with the
/// hypervisor. Replaces an earlier handler.
///
/// # Errors
///
/// [`Status::InvalidArgument`] for a vector of 32 or more.
pub fn set_handler(vector: u64, handler: TrapHandler) -> Result<(), Status> {
    if vector >= VECTORS {
        return Err(Status::InvalidArgument);
    }
    HANDLERS[vector as usize].store(handler as usize, Ordering::Release);
    let register = SetTrapHandler {
        vector,
        handler: trap_entry as *const () as u64,
    };
    // SAFETY: the stub is a valid handler entry for every vector.
    unsafe { super::call(register) }
}

/// Removes the handler for `vector`: the exception then stops the domain
/// with a report.
///
/// # Errors
///
/// [`Status::InvalidArgument`] for a vector of 32 or more.
pub fn clear_handler(vector: u64) -> Result<(), Status> {
    // SAFETY: removing a handler touches no memory.
    unsafe { super::call(SetTrapHandler { vector, handler: 0 }) }?;
    HANDLERS[vector as usize % VECTORS as usize].store(0, Ordering::Release);
    Ok(())
}

extern "C" fn dispatch(frame: &mut ExceptionFrame) {
    let raw = HANDLERS[(frame.vector % VECTORS) as usize].load(Ordering::Acquire);
    if raw == 0 {
        // Registered with the hypervisor but not here: cannot happen unless
        // the table was cleared concurrently; stop rather than loop.
        super::shutdown(102);
    }
    // SAFETY: only `TrapHandler` values are stored in the table.
    let handler: TrapHandler = unsafe { core::mem::transmute::<usize, TrapHandler>(raw) };
    handler(frame);
}

/// Entered by the hypervisor with `rsp` at the frame (16-byte aligned).
#[unsafe(naked)]
extern "C" fn trap_entry() {
    core::arch::naked_asm!(
        "push rdx",
        "push rsi",
        "push rdi",
        "push r8",
        "push r9",
        "push r10",
        "lea rdi, [rsp + 48]",
        "call {dispatch}",
        "pop r10",
        "pop r9",
        "pop r8",
        "pop rdi",
        "pop rsi",
        "pop rdx",
        "mov eax, {iret}",
        "syscall",
        // iret only returns on a frame it cannot use: stop the domain.
        "mov edi, 103",
        "mov eax, {shutdown}",
        "syscall",
        "ud2",
        dispatch = sym dispatch,
        iret = const Hypercall::Iret as u32,
        shutdown = const Hypercall::Shutdown as u32,
    )
}
