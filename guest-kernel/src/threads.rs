//! Kernel threads, preempted by the timer upcall.
//!
//! Each thread has its own stack. A thread is switched out only from the
//! upcall: the upcall stub saved its whole context on its stack, and the
//! scheduler returns another thread's saved context for the stub to resume.
//! The tick requests a reschedule; threads never need to yield.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use shared_abi::guest::upcall::UpcallContext;
use shared_abi::trap::{ExceptionFrame, UPCALL_VECTOR};
use spin::Mutex;

use crate::{hv, interrupts};

/// Most threads (the boot thread included).
pub const MAX_THREADS: usize = 8;
const STACK_SIZE: usize = 32 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Free,
    Ready,
    Running,
    Finished,
}

struct Thread {
    state: State,
    context: *mut UpcallContext,
    switches: u64,
}

struct Table {
    threads: [Thread; MAX_THREADS],
    current: usize,
    stacks: Vec<Vec<u8>>,
}

// SAFETY: the context pointers are only used on this one vCPU.
unsafe impl Send for Table {}

static TABLE: Mutex<Table> = Mutex::new(Table {
    threads: [const {
        Thread {
            state: State::Free,
            context: core::ptr::null_mut(),
            switches: 0,
        }
    }; MAX_THREADS],
    current: 0,
    stacks: Vec::new(),
});
static RESCHEDULE: AtomicBool = AtomicBool::new(false);

/// Marks the boot thread as thread 0 and hooks the scheduler into the
/// runtime: the tick requests a reschedule, and the end of every upcall
/// switches threads (call once, before spawning).
pub fn init() {
    crate::timer::set_tick_hook(request_reschedule);
    interrupts::set_upcall_exit(after_upcall);
    interrupts::without(|| {
        let mut table = TABLE.lock();
        table.threads[0].state = State::Running;
        table.current = 0;
    });
}

/// Asks for a thread switch at the end of the current upcall.
pub fn request_reschedule() {
    RESCHEDULE.store(true, Ordering::SeqCst);
}

extern "C" fn start(entry: usize, argument: u64) -> ! {
    // SAFETY: `spawn` stores a `fn(u64)` in this register.
    let entry: fn(u64) = unsafe { core::mem::transmute::<usize, fn(u64)>(entry) };
    entry(argument);
    interrupts::without(|| {
        let mut table = TABLE.lock();
        let current = table.current;
        table.threads[current].state = State::Finished;
    });
    // Sleep until the next tick switches away for good.
    loop {
        let _ = hv::events::block();
    }
}

/// Starts `entry(argument)` on a new thread; returns its index.
pub fn spawn(entry: fn(u64), argument: u64) -> Option<usize> {
    let mut stack = alloc::vec![0u8; STACK_SIZE];
    let top = (stack.as_mut_ptr() as u64 + STACK_SIZE as u64) & !0xf;
    interrupts::without(|| {
        let mut table = TABLE.lock();
        let index = table.threads.iter().position(|t| t.state == State::Free)?;
        // A fabricated upcall context: resuming it "returns" into `start`.
        let context =
            (top - 64 - core::mem::size_of::<UpcallContext>() as u64) as *mut UpcallContext;
        let initial = UpcallContext {
            rdi: entry as usize as u64,
            rsi: argument,
            frame: ExceptionFrame {
                vector: UPCALL_VECTOR,
                rip: start as *const () as u64,
                rflags: 0x202,
                rsp: top - 8,
                saved_mask: 0,
                ..ExceptionFrame::default()
            },
            ..UpcallContext::default()
        };
        // SAFETY: the context lies inside the new thread's own stack.
        unsafe { context.write(initial) };
        table.threads[index] = Thread {
            state: State::Ready,
            context,
            switches: 0,
        };
        table.stacks.push(stack);
        Some(index)
    })
}

/// Called at the end of every upcall: switches threads if a reschedule was
/// requested, returning the context to resume.
pub fn after_upcall(context: *mut UpcallContext) -> *mut UpcallContext {
    if !RESCHEDULE.swap(false, Ordering::SeqCst) {
        return context;
    }
    let Some(mut table) = TABLE.try_lock() else {
        // Interrupted while the table is being changed: switch next tick.
        return context;
    };
    let current = table.current;
    if table.threads[current].state == State::Running {
        table.threads[current].state = State::Ready;
    }
    table.threads[current].context = context;
    let next = (1..=MAX_THREADS)
        .map(|step| (current + step) % MAX_THREADS)
        .find(|&i| table.threads[i].state == State::Ready)
        .unwrap_or(current);
    table.threads[next].state = State::Running;
    table.threads[next].switches += 1;
    table.current = next;
    table.threads[next].context
}

/// Whether thread `index` has finished.
pub fn finished(index: usize) -> bool {
    interrupts::without(|| TABLE.lock().threads[index].state == State::Finished)
}

/// How many times thread `index` has been switched in.
pub fn switches(index: usize) -> u64 {
    interrupts::without(|| TABLE.lock().threads[index].switches)
}

/// Threads that exist (not free), with how many have finished.
pub fn count() -> (usize, usize) {
    interrupts::without(|| {
        let table = TABLE.lock();
        let live = table
            .threads
            .iter()
            .filter(|t| t.state != State::Free)
            .count();
        let done = table
            .threads
            .iter()
            .filter(|t| t.state == State::Finished)
            .count();
        (live, done)
    })
}
