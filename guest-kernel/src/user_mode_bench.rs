//! The bench guest's guest-user figures, measured in user mode: the round
//! trip of a null system call (user, hypervisor, guest kernel, hypervisor,
//! user) and a process switch (a `yield` system call whose handler saves
//! the caller, switches the address space and the kernel stack, and
//! resumes another user context that yields straight back).
//!
//! A small setup rather than the kernel's processes: a position-independent
//! program copied into a user page, two address spaces that share it, one
//! kernel stack per context, and a system-call handler that knows three
//! calls. [`run`] enters user mode for good: when the last measurement is
//! done, the handler calls the `finish` function given to it.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use shared_abi::guest::upcall::UpcallContext;
use shared_abi::guest::user;

use crate::measure::report;
use crate::memory::paging::{self, PageFlags};
use crate::memory::phys_to_virt;
use crate::scenario;

/// Where the program, its results and its stacks go (user pages).
const CODE: u64 = 0x10_0000_0000;
const RESULTS: u64 = 0x10_0001_0000;
const STACK_TOP: u64 = 0x10_0010_0000;
/// Samples of each figure (the results pages hold them).
const SAMPLES: u64 = 2000;
const RESULT_PAGES: u64 = SAMPLES * 8 / 4096 + 1;

/// The calls the handler knows: a null call, a switch to the other
/// context, and the end of a measurement.
const NULL_CALL: u64 = 0;
const YIELD_CALL: u64 = 1;
const DONE_CALL: u64 = 2;

// The program, selected by `rdi`: 0 times SAMPLES null calls, 1 times
// SAMPLES yields, 2 yields for ever; each sample (the TSC around the
// call) goes to [rbx], then DONE_CALL.
core::arch::global_asm!(
    ".section .text.bench_user_program, \"ax\"",
    ".global bench_user_start",
    ".global bench_user_end",
    "bench_user_start:",
    "cmp rdi, 2",
    "je 3f",
    "mov r14, rdi",
    "mov r13, {samples}",
    "2:",
    "rdtsc",
    "shl rdx, 32",
    "or rax, rdx",
    "mov r12, rax",
    "mov rax, r14",
    "syscall",
    "rdtsc",
    "shl rdx, 32",
    "or rax, rdx",
    "sub rax, r12",
    "mov [rbx], rax",
    "add rbx, 8",
    "dec r13",
    "jnz 2b",
    "mov eax, {done}",
    "syscall",
    "ud2",
    "3:",
    "mov eax, {yield_call}",
    "syscall",
    "jmp 3b",
    "bench_user_end:",
    ".text",
    samples = const SAMPLES,
    done = const DONE_CALL,
    yield_call = const YIELD_CALL,
);

unsafe extern "C" {
    static bench_user_start: u8;
    static bench_user_end: u8;
}

const KERNEL_STACK_BYTES: usize = 16 * 1024;

/// The two contexts of the switch figure and the address spaces they run in.
struct Switching {
    contexts: [*mut UpcallContext; 2],
    roots: [u64; 2],
    stacks: [u64; 2],
}

static PHASE: AtomicUsize = AtomicUsize::new(0);
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static FINISH: AtomicUsize = AtomicUsize::new(0);
static SWITCHING: spin::Mutex<Switching> = spin::Mutex::new(Switching {
    contexts: [core::ptr::null_mut(); 2],
    roots: [0; 2],
    stacks: [0; 2],
});

// SAFETY: the context pointers are used only on this one vCPU.
unsafe impl Send for Switching {}
static SWITCHES: AtomicU64 = AtomicU64::new(0);

fn fail(what: &str) -> ! {
    scenario::fail(format_args!("user-mode bench: {what}"))
}

/// A kernel stack (leaked: the contexts live there until the end).
fn kernel_stack() -> u64 {
    let stack: &'static mut [u8] = Vec::leak(alloc::vec![0u8; KERNEL_STACK_BYTES]);
    (stack.as_mut_ptr() as u64 + KERNEL_STACK_BYTES as u64) & !0xf
}

/// A fresh user context running selector `selector` at the top of the
/// kernel stack `stack`, as a trap from user mode would have saved it.
fn context_at(stack: u64, selector: u64, stack_top: u64) -> *mut UpcallContext {
    let context = (stack - core::mem::size_of::<UpcallContext>() as u64) as *mut UpcallContext;
    let mut fresh = user::new_context(CODE, stack_top);
    fresh.rdi = selector;
    fresh.rbx = RESULTS;
    // SAFETY: the context lies at the top of a kernel stack of ours that
    // nothing else uses.
    unsafe { context.write(fresh) };
    context
}

/// The samples the program wrote.
fn results() -> Vec<u64> {
    let root = paging::current_root();
    (0..SAMPLES)
        .map(|index| {
            let address = RESULTS + index * 8;
            let phys = paging::translate(root, address).unwrap_or_else(|| fail("results"));
            // SAFETY: a results page of ours, through the physical mapping.
            unsafe { phys_to_virt(phys).cast::<u64>().read() }
        })
        .collect()
}

fn on_syscall(context: *mut UpcallContext) -> *mut UpcallContext {
    // SAFETY: the stub passes the context it saved on the kernel stack.
    let number = unsafe { (*context).frame.rax };
    match number {
        NULL_CALL => {
            // SAFETY: as above.
            unsafe { (*context).frame.rax = 0 };
            context
        }
        YIELD_CALL => switch(context),
        DONE_CALL => done(),
        _ => fail("unknown call"),
    }
}

/// Saves `context` as the current one's and resumes the other.
fn switch(context: *mut UpcallContext) -> *mut UpcallContext {
    let current = CURRENT.load(Ordering::Relaxed);
    let next = 1 - current;
    let mut switching = SWITCHING.lock();
    switching.contexts[current] = context;
    // SAFETY: as above.
    unsafe { (*context).frame.rax = 0 };
    CURRENT.store(next, Ordering::Relaxed);
    SWITCHES.fetch_add(1, Ordering::Relaxed);
    if user::set_kernel_stack(switching.stacks[next]).is_err()
        || crate::hv::mmu_set_base(switching.roots[next]).is_err()
    {
        fail("switch");
    }
    switching.contexts[next]
}

/// The end of a measurement: report it, then start the next or finish.
fn done() -> *mut UpcallContext {
    let phase = PHASE.fetch_add(1, Ordering::SeqCst);
    let switching = SWITCHING.lock();
    match phase {
        0 => {
            report("user_syscall_round_trip", results());
            // The switch figure: the measuring context in the first space,
            // its partner in the second.
            CURRENT.store(0, Ordering::SeqCst);
            if user::set_kernel_stack(switching.stacks[0]).is_err() {
                fail("kernel stack");
            }
            switching.contexts[0]
        }
        _ => {
            let root = switching.roots[0];
            drop(switching);
            if crate::hv::mmu_set_base(root).is_err() {
                fail("root");
            }
            // Each sample is two switches (there and back) and two calls.
            let samples = results().into_iter().map(|sample| sample / 2).collect();
            report("process_switch", samples);
            // SAFETY: `run` stores a `fn() -> !` here.
            let finish: fn() -> ! =
                unsafe { core::mem::transmute::<usize, fn() -> !>(FINISH.load(Ordering::SeqCst)) };
            finish()
        }
    }
}

/// Measures the figures in user mode, then calls `finish` (from the
/// system-call handler, on a kernel stack of this module, with virtual
/// interrupts masked).
pub fn run(finish: fn() -> !) -> ! {
    FINISH.store(finish as usize, Ordering::SeqCst);
    let code = paging::map_page(CODE, PageFlags::USER).unwrap_or_else(|_| fail("map code"));
    let data = PageFlags::USER | PageFlags::WRITABLE | PageFlags::NO_EXECUTE;
    for page in 0..RESULT_PAGES {
        paging::map_page(RESULTS + page * 4096, data).unwrap_or_else(|_| fail("map results"));
    }
    for stack in [STACK_TOP - 4096, STACK_TOP - 3 * 4096] {
        paging::map_page(stack, data).unwrap_or_else(|_| fail("map stack"));
    }
    let start = &raw const bench_user_start;
    // SAFETY: both symbols are defined by the global_asm! block above, the
    // end after the start, in one section.
    let len = unsafe { (&raw const bench_user_end).offset_from(start) } as usize;
    // SAFETY: `code` is a fresh frame of ours, reached through the
    // physical-memory mapping; `start` holds `len` (< 4096) bytes of code.
    unsafe { core::ptr::copy_nonoverlapping(start, phys_to_virt(code), len.min(4096)) };

    let root = paging::current_root();
    let other = paging::clone_address_space(root).unwrap_or_else(|| fail("no frame"));
    let stacks = [kernel_stack(), kernel_stack(), kernel_stack()];
    *SWITCHING.lock() = Switching {
        contexts: [
            context_at(stacks[1], YIELD_CALL, STACK_TOP),
            context_at(stacks[2], 2, STACK_TOP - 2 * 4096),
        ],
        roots: [root, other],
        stacks: [stacks[1], stacks[2]],
    };
    let first = context_at(stacks[0], NULL_CALL, STACK_TOP);
    if user::set_kernel_stack(stacks[0]).is_err() || user::set_syscall_handler(on_syscall).is_err()
    {
        fail("register");
    }
    // SAFETY: a fresh user context on a kernel stack of ours; nothing of
    // the caller's is used again.
    unsafe { user::resume(first) }
}
