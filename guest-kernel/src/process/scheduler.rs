//! Switching between processes and the kernel: who runs next, entering a
//! context (address space, kernel stack), preemption by the tick, and the
//! kernel's waiting point.
//!
//! Round robin: the next runnable process after the current one in pid
//! order. The kernel runs when the process it waits for has ended or when
//! no process can run; it then re-checks and, with nothing to do, sleeps
//! the domain until an event (the tick, console input) makes a process
//! runnable again.

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use shared_abi::guest::upcall::UpcallContext;
use shared_abi::guest::user;
use shared_abi::syscall::Error;

use super::table::{KERNEL_ROOT, Outcome, Pid, Process, State, TABLE, Table};
use super::{files, loader};
use crate::memory::paging;
use crate::{hv, interrupts, timer};

static RESCHEDULE: AtomicBool = AtomicBool::new(false);
static KERNEL_YIELD: AtomicBool = AtomicBool::new(false);

/// Takes over the tick and the end of upcalls (from kernel threads: call it
/// when they have finished). The current address space becomes the
/// kernel's.
pub fn init() {
    KERNEL_ROOT.store(paging::current_root(), Ordering::SeqCst);
    timer::set_tick_hook(|| RESCHEDULE.store(true, Ordering::SeqCst));
    interrupts::set_upcall_exit(after_upcall);
}

/// Loads the program at `path` (from the disk) with `args` as a new
/// process, child of `parent` (0: the kernel).
pub fn spawn(parent: Pid, path: &str, args: Vec<String>) -> Result<Pid, Error> {
    let file = files::read_program(path)?;
    let kernel_root = KERNEL_ROOT.load(Ordering::SeqCst);
    let image = loader::load(&file, &args, kernel_root)?;
    let name = String::from(path.rsplit('/').next().unwrap_or(path));
    let initial = user::new_context(image.entry, image.stack_pointer);
    let process = Process::new(parent, name, image.space, image.break_start, initial);
    interrupts::without(|| TABLE.lock().add(process)).ok_or(Error::LimitReached)
}

/// Runs the processes until `pid` (a child of the kernel) has ended;
/// returns how it ended. Processes still alive then are ended with it.
/// Called by the kernel only, holding no lock.
pub fn run_until_exit(pid: Pid) -> Outcome {
    loop {
        interrupts::disable();
        let mut table = TABLE.lock();
        table.kernel_waits_for = Some(pid);
        if let Some(outcome) = table.reap(pid) {
            table.kernel_waits_for = None;
            end_all(&mut table);
            drop(table);
            interrupts::enable();
            return outcome;
        }
        let any = table.processes.keys().any(|&other| table.runnable(other));
        drop(table);
        match any {
            // The upcall this forces switches to a process; the kernel
            // resumes here when it is its turn again.
            true => {
                KERNEL_YIELD.store(true, Ordering::SeqCst);
                interrupts::shared()
                    .vcpu
                    .upcall_pending
                    .store(1, Ordering::SeqCst);
                interrupts::enable();
            }
            // Unmasks and sleeps at once: no event is missed.
            false => {
                let _ = hv::events::block();
            }
        }
    }
}

/// Ends every process left (the kernel runs, in its own address space).
fn end_all(table: &mut Table) {
    let mut left = core::mem::take(&mut table.processes);
    if !left.is_empty() {
        crate::println!("ended {} processes left running", left.len());
    }
    for process in left.values_mut() {
        files::close_all(&mut process.files);
    }
    drop(left);
}

/// At the end of every upcall: switches away from a process in user mode
/// when the tick asked for it, and from the kernel when it yields.
fn after_upcall(context: *mut UpcallContext) -> *mut UpcallContext {
    // SAFETY: the stub passes the context it saved, frame included.
    let in_user = unsafe { (*context).frame.is_user() };
    let asked = match in_user {
        true => RESCHEDULE.swap(false, Ordering::SeqCst),
        false => KERNEL_YIELD.swap(false, Ordering::SeqCst),
    };
    if !asked {
        return context;
    }
    match TABLE.try_lock() {
        Some(mut table) => switch(&mut table, context),
        None => context,
    }
}

/// Whether the tick asked for a switch (cleared by asking).
pub fn preemption_due() -> bool {
    RESCHEDULE.swap(false, Ordering::SeqCst)
}

/// Saves `from` as the current context (a running process becomes ready;
/// a blocked or ended one stays so), picks the next and enters it.
pub fn switch(table: &mut Table, from: *mut UpcallContext) -> *mut UpcallContext {
    match table.running() {
        Some((_, process)) => {
            process.context = from;
            if process.state == State::Running {
                process.state = State::Ready;
            }
        }
        None => table.kernel_context = from,
    }
    let next = pick(table);
    enter(table, next)
}

/// The next to run: the kernel if what it waits for has ended, else the
/// next runnable process after the current one, else the kernel.
fn pick(table: &Table) -> Option<Pid> {
    if table.kernel_waits_for.is_some_and(|pid| table.ended(pid)) {
        return None;
    }
    let after = table.current.unwrap_or(0);
    let later = table.processes.range(after + 1..).map(|(&pid, _)| pid);
    let earlier = table.processes.range(..=after).map(|(&pid, _)| pid);
    later.chain(earlier).find(|&pid| table.runnable(pid))
}

/// Makes `next` (`None`: the kernel) the running context: its address
/// space, its kernel stack; returns its saved context.
fn enter(table: &mut Table, next: Option<Pid>) -> *mut UpcallContext {
    let kernel_root = KERNEL_ROOT.load(Ordering::SeqCst);
    let (root, context) = match next.and_then(|pid| table.processes.get_mut(&pid)) {
        Some(process) => {
            process.state = State::Running;
            let top = process.kernel_stack_top();
            if user::set_kernel_stack(top).is_err() {
                crate::scenario::fail(format_args!("set_kernel_stack({top:#x}) refused"));
            }
            (process.space().root(), process.context)
        }
        None => (kernel_root, table.kernel_context),
    };
    table.current = next;
    if paging::current_root() != root && hv::mmu_set_base(root).is_err() {
        crate::scenario::fail(format_args!("mmu_set_base({root:#x}) refused"));
    }
    context
}

/// Ends the running process with `outcome` and switches to the next; its
/// address space is freed once another is in use. Returns the context to
/// resume.
pub fn end_current(
    table: &mut Table,
    from: *mut UpcallContext,
    outcome: Outcome,
) -> *mut UpcallContext {
    let pid = table.current;
    if let Some((_, process)) = table.running() {
        process.state = State::Zombie(outcome);
        files::close_all(&mut process.files);
    }
    let next = switch(table, from);
    if let Some(process) = pid.and_then(|pid| table.processes.get_mut(&pid)) {
        process.space = None;
    }
    next
}
