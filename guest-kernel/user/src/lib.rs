//! The runtime of the guest kernel's user programs: the entry point
//! ([`entry!`]), the arguments ([`args`]), [`print!`]/[`println!`] over the
//! `write` system call, a heap on `brk` ([`heap`]), and a panic handler
//! that reports the panic and exits with code 101.
//!
//! A program is a binary of this crate:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! user::entry!(main);
//! fn main(args: user::Args) -> u64 {
//!     user::println!("hello from {}", user::sys::getpid());
//!     0
//! }
//! ```
//!
//! It is linked as a static executable at 1 GiB (`build.rs`); xtask copies
//! every binary into the guests' `/bin`.
#![no_std]

extern crate alloc;

pub mod args;
pub mod heap;
pub mod print;

pub use args::Args;
pub use shared_abi::syscall::user as sys;
pub use shared_abi::syscall::{Error, open_flags, status};

/// The code a program exits with after a panic.
pub const PANIC_EXIT_CODE: u64 = 101;

/// Declares `main`, a `fn(Args) -> u64`, as the program: defines `_start`,
/// which reads the arguments from the stack, runs `main` and exits with
/// what it returns.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        #[unsafe(naked)]
        extern "C" fn _start() -> ! {
            core::arch::naked_asm!(
                "mov rdi, rsp",
                "and rsp, -16",
                "call {start}",
                "ud2",
                start = sym __user_start,
            )
        }

        extern "C" fn __user_start(stack: *const u64) -> ! {
            // SAFETY: the kernel's loader left argc and argv at `stack`.
            let args = unsafe { $crate::Args::from_stack(stack) };
            let code: u64 = $main(args);
            $crate::sys::exit(code)
        }
    };
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    eprintln!("panic: {info}");
    sys::exit(PANIC_EXIT_CODE)
}
