//! The event upcall entry: saves every register of the interrupted context
//! on its stack, lets a Rust handler choose which context to resume (the
//! same one, or another thread's), and returns with `iret`.
//!
//! On entry the hypervisor has pushed an [`ExceptionFrame`] (vector
//! `UPCALL_VECTOR`) with virtual interrupts masked. The stub pushes the
//! remaining registers below it, forming an [`UpcallContext`], and calls the
//! handler with it. The handler returns the context to resume; the stub
//! restores it and issues `iret`, which also restores that context's
//! virtual interrupt mask.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::hypercall::request::SetCallback;
use crate::trap::ExceptionFrame;

/// A complete interrupted context: the registers the stub saved, then the
/// hypervisor's frame.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct UpcallContext {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rbx: u64,
    /// rax, rcx, r11, rip, rflags, rsp and the saved mask.
    pub frame: ExceptionFrame,
}

const _: () = {
    assert!(core::mem::offset_of!(UpcallContext, frame) == 96);
    assert!(core::mem::size_of::<UpcallContext>().is_multiple_of(16));
};

/// Chooses the context to resume after an upcall (return `context` itself
/// to resume the interrupted code).
pub type UpcallHandler = fn(context: *mut UpcallContext) -> *mut UpcallContext;

static HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Installs `handler` and registers the entry stub with the hypervisor as
/// the event upcall. [`interrupts::init`](super::interrupts::init) installs
/// the runtime's own handler (which dispatches to port handlers and then to
/// [`set_upcall_exit`](super::interrupts::set_upcall_exit)); call this only
/// in a guest that does not use the [`interrupts`](super::interrupts)
/// module.
///
/// # Errors
///
/// Only [`Status::BadAddress`](crate::Status::BadAddress) if the stub lay in
/// the upper half (it cannot).
pub fn set_handler(handler: UpcallHandler) -> Result<(), crate::Status> {
    HANDLER.store(handler as usize, Ordering::Release);
    let entry = SetCallback {
        handler: upcall_entry as *const () as u64,
    };
    // SAFETY: the stub is a valid upcall entry.
    unsafe { super::call(entry) }
}

extern "C" fn dispatch(context: *mut UpcallContext) -> *mut UpcallContext {
    let raw = HANDLER.load(Ordering::Acquire);
    if raw == 0 {
        return context;
    }
    // SAFETY: only `UpcallHandler` values are stored.
    let handler: UpcallHandler = unsafe { core::mem::transmute::<usize, UpcallHandler>(raw) };
    handler(context)
}

/// Defines a naked entry stub `$entry` that saves the registers an
/// [`ExceptionFrame`] does not hold below the frame the hypervisor pushed,
/// forming an [`UpcallContext`], calls `$dispatch` with it, and resumes the
/// context `$dispatch` returns (through `$restore`, also a symbol: pop the
/// registers, `iret`). If `iret` refuses the frame the domain ends with
/// `$code`.
#[doc(hidden)]
#[macro_export]
macro_rules! context_entry_stub {
    ($entry:ident, $restore:ident, $dispatch:path, $code:literal) => {
        #[unsafe(naked)]
        extern "C" fn $entry() {
            core::arch::naked_asm!(
                "push rbx", "push rdx", "push rsi", "push rdi", "push rbp", "push r8", "push r9",
                "push r10", "push r12", "push r13", "push r14", "push r15",
                "mov rdi, rsp",
                "call {dispatch}",
                "mov rsp, rax",
                "jmp {restore}",
                dispatch = sym $dispatch,
                restore = sym $restore,
            )
        }

        /// Entered with `rsp` at an [`UpcallContext`]: restores it.
        #[unsafe(naked)]
        extern "C" fn $restore() {
            core::arch::naked_asm!(
                "pop r15", "pop r14", "pop r13", "pop r12", "pop r10", "pop r9", "pop r8",
                "pop rbp", "pop rdi", "pop rsi", "pop rdx", "pop rbx",
                "mov eax, {iret}",
                "syscall",
                concat!("mov edi, ", stringify!($code)),
                "mov eax, {shutdown}",
                "syscall",
                "ud2",
                iret = const $crate::Hypercall::Iret as u32,
                shutdown = const $crate::Hypercall::Shutdown as u32,
            )
        }
    };
}

context_entry_stub!(upcall_entry, upcall_restore, dispatch, 104);
