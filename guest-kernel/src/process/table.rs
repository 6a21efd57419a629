//! The process table: every process, its state and its saved context, and
//! which context runs now (a process, or the kernel).
//!
//! The table is behind one lock, taken only with virtual interrupts
//! masked (by the kernel with `interrupts::without`, by the trap handlers,
//! which are entered masked), so an upcall never finds it held by code it
//! interrupted except inside a system call, and then it does not switch.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::AtomicU64;

use shared_abi::guest::upcall::UpcallContext;
use shared_abi::syscall::status;
use spin::Mutex;

use super::address_space::AddressSpace;
use super::files::FileTable;

/// A process id (1 and up; 0 names the kernel as a parent).
pub type Pid = u64;

/// Most processes at once (zombies included).
pub const MAX_PROCESSES: usize = 32;
/// Bytes of each process's kernel stack.
const KERNEL_STACK_BYTES: usize = 32 * 1024;

/// The exception that killed a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub vector: u64,
    pub error_code: u64,
    pub address: u64,
    pub rip: u64,
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Exited(u64),
    Killed(Fault),
}

impl Outcome {
    /// The status `wait` returns for it.
    pub fn status(self) -> u64 {
        match self {
            Outcome::Exited(code) => status::exited(code),
            Outcome::Killed(fault) => status::killed(fault.vector),
        }
    }
}

/// What a blocked process waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Console input.
    Console,
    /// Virtual time to reach this many nanoseconds.
    Until(u64),
    /// A child to end.
    Child(Pid),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Ready,
    Running,
    Blocked(Wait),
    Zombie(Outcome),
}

/// One process.
pub struct Process {
    pub parent: Pid,
    pub name: String,
    pub state: State,
    /// Its saved context (on its kernel stack) while it is not running.
    pub context: *mut UpcallContext,
    kernel_stack: Vec<u8>,
    /// `None` once it has ended.
    pub space: Option<AddressSpace>,
    pub break_start: u64,
    pub break_end: u64,
    pub files: FileTable,
}

impl Process {
    /// A process that starts with `initial` (a user context), in `space`.
    pub fn new(
        parent: Pid,
        name: String,
        space: AddressSpace,
        break_start: u64,
        initial: UpcallContext,
    ) -> Self {
        let mut kernel_stack = alloc::vec![0u8; KERNEL_STACK_BYTES];
        let top = (kernel_stack.as_mut_ptr() as u64 + KERNEL_STACK_BYTES as u64) & !0xf;
        let context = (top - core::mem::size_of::<UpcallContext>() as u64) as *mut UpcallContext;
        // SAFETY: the context lies at the top of the new kernel stack, where
        // a trap from user mode would have saved it.
        unsafe { context.write(initial) };
        Self {
            parent,
            name,
            state: State::Ready,
            context,
            kernel_stack,
            space: Some(space),
            break_start,
            break_end: break_start,
            files: FileTable::default(),
        }
    }

    /// The top of its kernel stack (16-byte aligned), for `set_kernel_stack`.
    pub fn kernel_stack_top(&self) -> u64 {
        (self.kernel_stack.as_ptr() as u64 + KERNEL_STACK_BYTES as u64) & !0xf
    }

    /// Its address space (only a running or runnable process is asked).
    pub fn space(&self) -> &AddressSpace {
        self.space.as_ref().expect("a live process has a space")
    }
}

/// Every process, and who runs.
pub struct Table {
    pub processes: BTreeMap<Pid, Process>,
    next_pid: Pid,
    /// The running process; `None`: the kernel runs.
    pub current: Option<Pid>,
    /// The kernel's saved context while a process runs.
    pub kernel_context: *mut UpcallContext,
    /// The process the kernel waits for, if it does.
    pub kernel_waits_for: Option<Pid>,
}

// SAFETY: the context pointers and the filesystem handles are used only on
// this one vCPU.
unsafe impl Send for Table {}

/// The kernel's own address space (the boot root), outside the lock: the
/// page-fault handler needs it while the table may be held.
pub static KERNEL_ROOT: AtomicU64 = AtomicU64::new(0);

pub static TABLE: Mutex<Table> = Mutex::new(Table {
    processes: BTreeMap::new(),
    next_pid: 1,
    current: None,
    kernel_context: core::ptr::null_mut(),
    kernel_waits_for: None,
});

impl Table {
    /// Adds `process`; returns its pid, or `None` at the limit.
    pub fn add(&mut self, process: Process) -> Option<Pid> {
        if self.processes.len() >= MAX_PROCESSES {
            return None;
        }
        let pid = self.next_pid;
        self.next_pid += 1;
        self.processes.insert(pid, process);
        Some(pid)
    }

    /// The running process.
    pub fn running(&mut self) -> Option<(Pid, &mut Process)> {
        let pid = self.current?;
        self.processes.get_mut(&pid).map(|process| (pid, process))
    }

    /// Whether process `pid` could run now (ready, or blocked on something
    /// that has happened).
    pub fn runnable(&self, pid: Pid) -> bool {
        let Some(process) = self.processes.get(&pid) else {
            return false;
        };
        match process.state {
            State::Ready => true,
            State::Blocked(Wait::Console) => crate::drivers::console::input_pending(),
            State::Blocked(Wait::Until(deadline)) => crate::interrupts::now_ns() >= deadline,
            State::Blocked(Wait::Child(child)) => self.ended(child),
            State::Running | State::Zombie(_) => false,
        }
    }

    /// Whether `pid` has ended (or does not exist).
    pub fn ended(&self, pid: Pid) -> bool {
        self.processes
            .get(&pid)
            .is_none_or(|process| matches!(process.state, State::Zombie(_)))
    }

    /// Removes ended process `pid`, returning how it ended.
    pub fn reap(&mut self, pid: Pid) -> Option<Outcome> {
        match self.processes.get(&pid)?.state {
            State::Zombie(outcome) => {
                self.processes.remove(&pid);
                Some(outcome)
            }
            _ => None,
        }
    }
}
