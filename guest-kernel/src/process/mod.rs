//! Processes: user programs in guest-user mode, each in its own address
//! space, preempted by the tick, served by system calls.
//!
//! The kernel (the shell, on the boot stack) starts a program with
//! [`spawn`] and waits for it with [`run_until_exit`]. While it waits it
//! gives the CPU to the processes; it runs again when the program has
//! ended or no process can run (then it sleeps the domain until an event).
//! Processes are switched only where no kernel lock can be held:
//!
//! - a process in user mode, at the end of an upcall (the tick asks for a
//!   switch; round robin among the ready processes);
//! - a process in a system call that blocks, yields or exits, or that a
//!   fault kills, at the end of the call (the handler returns another
//!   context);
//! - the kernel only at its own waiting point, where it holds no lock: it
//!   forces an upcall to itself and the upcall's end switches.
//!
//! A trap from user mode saves the process's context at the top of its own
//! kernel stack (registered with the hypervisor whenever the process is
//! switched in), so a process that is not running is just that saved
//! context. Modules: [`address_space`] (page tables), [`user_memory`]
//! (checked copies), [`elf`] and [`loader`] (programs), [`table`] (the
//! processes), [`scheduler`] (switching), [`syscalls`], [`files`] and
//! [`faults`] (what user code enters the kernel for).

pub mod address_space;
pub mod elf;
pub mod faults;
pub mod files;
pub mod loader;
pub mod scheduler;
pub mod syscalls;
pub mod table;
pub mod user_memory;

pub use scheduler::{run_until_exit, spawn};
pub use table::{Fault, Outcome, Pid};

/// The lowest user address (the kernel's image lies in the gigabyte
/// below); programs are linked here.
pub const USER_BASE: u64 = 0x4000_0000;
/// The end of user space (512 GiB: the first top-level slot).
pub const USER_TOP: u64 = 0x80_0000_0000;
/// Bytes of each process's stack.
pub const STACK_BYTES: u64 = 64 * 1024;
/// The top of the stack (the top of user space).
pub const STACK_TOP: u64 = USER_TOP;
/// The end of what segments and the heap may use: below the stack, with
/// an unmapped guard page between (a heap running into the stack, or a
/// segment placed over it, is refused).
pub const IMAGE_TOP: u64 = STACK_TOP - STACK_BYTES - 4096;

/// Makes the kernel the processes' host: the scheduler takes over the tick
/// and the end of upcalls (from kernel threads: call this when they have
/// finished), and the system-call and exception handlers are installed.
/// The current address space becomes the kernel's.
pub fn init() -> Result<(), shared_abi::Status> {
    scheduler::init();
    shared_abi::guest::user::set_syscall_handler(syscalls::on_syscall)?;
    faults::install()
}

/// A virtual address in a process's user space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UserAddress(pub u64);
