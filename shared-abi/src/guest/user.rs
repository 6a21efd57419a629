//! Guest user mode (ABI 1.8): the guest kernel runs its own programs in a
//! second, less privileged mode, protected from them by the hypervisor.
//!
//! The vCPU is in guest-kernel mode or guest-user mode. In guest-user mode
//! the hardware page tables hold only the guest's pages whose entries have
//! the user bit set at every level, so user code cannot reach the guest
//! kernel's memory. The guest kernel enters user mode by returning (`iret`)
//! to a frame with [`USER_MODE`] set; user code leaves it only by a trap,
//! which the hypervisor turns into an entry of the guest kernel on the
//! stack registered with [`set_kernel_stack`], with the user context saved
//! in the frame (its `saved_mask` carries [`USER_MODE`]):
//!
//! - `syscall` is a system call: it enters the handler registered with
//!   [`set_syscall_handler`] (vector [`SYSCALL_VECTOR`]), never the
//!   hypervisor's services;
//! - an exception (a page fault, a privileged instruction's #GP, `int3`)
//!   enters the exception handler for its vector;
//! - an event upcall enters the upcall handler.
//!
//! The handlers here receive the whole interrupted context, an
//! [`UpcallContext`], and return the context to resume: the same one,
//! another process's, or one in guest-kernel mode. [`resume`] enters a
//! context directly, which is how a guest kernel starts its first process.
//!
//! ```no_run
//! use shared_abi::guest::upcall::UpcallContext;
//! use shared_abi::guest::user;
//! fn system_call(context: *mut UpcallContext) -> *mut UpcallContext {
//!     // SAFETY: the stub passes the context it saved on the kernel stack.
//!     let saved = unsafe { &mut *context };
//!     saved.frame.rax = 0; // the system call's result
//!     context
//! }
//! static mut STACK: [u8; 16384] = [0; 16384];
//! user::set_kernel_stack(&raw const STACK as u64 + 16384)?;
//! user::set_syscall_handler(system_call)?;
//! # Ok::<(), shared_abi::Status>(())
//! ```

use core::sync::atomic::{AtomicUsize, Ordering};

use super::upcall::{UpcallContext, UpcallHandler};
use crate::Status;
use crate::hypercall::request::{SetKernelStack, SetSyscallEntry, SetTrapHandler};
use crate::trap::{ExceptionFrame, SYSCALL_VECTOR, USER_MODE, VECTORS};

/// A handler of a trap taken from either mode, with the whole context: it
/// returns the context to resume.
pub type ContextHandler = UpcallHandler;

/// Handlers by vector: the exceptions (0..32), then the system call (33).
static HANDLERS: [AtomicUsize; SYSCALL_VECTOR as usize + 1] =
    [const { AtomicUsize::new(0) }; SYSCALL_VECTOR as usize + 1];

/// Registers `top` (16-byte aligned, in the lower half) as the stack a trap
/// from guest-user mode enters the guest kernel on. A guest kernel with one
/// kernel stack per process registers the next one's as it switches.
///
/// # Errors
///
/// [`Status::BadAddress`] for an address in the upper half,
/// [`Status::InvalidArgument`] for one not 16-byte aligned.
pub fn set_kernel_stack(top: u64) -> Result<(), Status> {
    // SAFETY: registering a stack writes no memory now; the caller keeps it
    // for the traps that will use it.
    unsafe { super::call(SetKernelStack { top }) }
}

/// Installs `handler` for system calls (`syscall` in guest-user mode) and
/// registers the entry stub with the hypervisor. The handler finds the
/// system-call number in `frame.rax` and the arguments in `rdi`, `rsi`,
/// `rdx`, `r10`, `r8` and `r9`, and puts the result in `frame.rax`; `rcx`
/// and `r11` come back as the `syscall` instruction left them.
///
/// # Errors
///
/// Only [`Status::BadAddress`] (the stub cannot lie in the upper half).
pub fn set_syscall_handler(handler: ContextHandler) -> Result<(), Status> {
    HANDLERS[SYSCALL_VECTOR as usize].store(handler as usize, Ordering::Release);
    let entry = SetSyscallEntry {
        handler: context_entry as *const () as u64,
    };
    // SAFETY: the stub is a valid system-call entry.
    unsafe { super::call(entry) }
}

/// Installs `handler` for exception `vector` (0..32), with the whole
/// context (instead of [`trap::set_handler`](super::trap::set_handler)'s
/// frame alone), so that it can switch to another context: what a guest
/// kernel needs to end a faulting process and run another.
///
/// # Errors
///
/// [`Status::InvalidArgument`] for a vector of 32 or more.
pub fn set_trap_handler(vector: u64, handler: ContextHandler) -> Result<(), Status> {
    if vector >= VECTORS {
        return Err(Status::InvalidArgument);
    }
    HANDLERS[vector as usize].store(handler as usize, Ordering::Release);
    let register = SetTrapHandler {
        vector,
        handler: context_entry as *const () as u64,
    };
    // SAFETY: the stub is a valid handler entry for every vector.
    unsafe { super::call(register) }
}

/// The address of the entry stub the handlers here register with the
/// hypervisor (for tests and debuggers: user code that jumps there only
/// faults, in user mode).
pub fn entry_address() -> u64 {
    context_entry as *const () as u64
}

/// Whether `frame` describes a guest-user context.
pub fn is_user(frame: &ExceptionFrame) -> bool {
    frame.is_user()
}

/// A fresh guest-user context that starts at `entry` with stack `stack`,
/// virtual interrupts enabled and every other register 0; [`resume`] it to
/// enter guest-user mode.
pub fn new_context(entry: u64, stack: u64) -> UpcallContext {
    UpcallContext {
        frame: ExceptionFrame {
            rip: entry,
            rsp: stack,
            rflags: 0x202,
            saved_mask: USER_MODE,
            ..ExceptionFrame::default()
        },
        ..UpcallContext::default()
    }
}

/// Resumes `context` (in either mode): loads its registers and returns to
/// it with `iret`. Stops the domain (code 105) if the hypervisor refuses
/// the frame: a lower-half `rip` and `rsp` are needed, and a kernel stack
/// must be registered to enter guest-user mode.
///
/// # Safety
///
/// `context` must stay valid until the `iret` has read it (a copy on the
/// caller's stack is fine: nothing below it is used again), and resuming
/// it must be sound for the code it returns to.
pub unsafe fn resume(context: *const UpcallContext) -> ! {
    // SAFETY: forwarded from the caller; the asm loads the context's
    // registers and issues `iret` with `rsp` at its frame.
    unsafe {
        core::arch::asm!(
            "mov rsp, {context}",
            "jmp {restore}",
            context = in(reg) context,
            restore = sym restore_context,
            options(noreturn),
        )
    }
}

extern "C" fn dispatch(context: *mut UpcallContext) -> *mut UpcallContext {
    // SAFETY: the stub passes the context it saved, frame included.
    let vector = unsafe { (*context).frame.vector };
    let raw = HANDLERS
        .get(vector as usize)
        .map_or(0, |slot| slot.load(Ordering::Acquire));
    if raw == 0 {
        // Registered with the hypervisor but not here: cannot happen unless
        // the table was cleared concurrently; stop rather than loop.
        super::shutdown(102);
    }
    // SAFETY: only `ContextHandler` values are stored in the table.
    let handler: ContextHandler = unsafe { core::mem::transmute::<usize, ContextHandler>(raw) };
    handler(context)
}

crate::context_entry_stub!(context_entry, restore_context, dispatch, 105);
