//! The bench guest's guest-user mode figures: a null system call's round
//! trip (user -> hypervisor -> guest kernel -> hypervisor -> user) and a
//! switch between two user processes of one guest kernel.
//!
//! A small position-independent program, copied into a user page, times
//! its own `syscall`s with `rdtsc` and stores each sample in a user buffer;
//! the kernel's system-call handler (the runtime's whole-context stub)
//! answers at once, or, for `yield`, switches to the other process: it
//! saves the caller's context, loads the other's address space and kernel
//! stack, and resumes the other's context, as a minimal process switch.
//! The second process only yields back. The kernel reads the samples when
//! the program ends with its `done` call.

use alloc::vec::Vec;

use shared_abi::guest::upcall::UpcallContext;
use shared_abi::guest::user;
use spin::Mutex;

use crate::hv;
use crate::memory::paging::{self, PageFlags};
use crate::memory::phys_to_virt;
use crate::scenario::fail;

/// Where the program, its sample buffer and its kernel stacks go.
const CODE: u64 = 0x11_0000_0000;
const BUFFER: u64 = 0x11_0001_0000;
/// Samples per figure (8 bytes each: they fit the buffer's pages).
pub const SAMPLES: usize = 2000;
const BUFFER_PAGES: u64 = (SAMPLES as u64 * 8).div_ceil(4096);
const KERNEL_STACK_SIZE: usize = 16 * 1024;

/// System calls of the program.
const NULL: u64 = 0;
const YIELD: u64 = 1;
const DONE: u64 = 2;

/// Two kernel stacks (`u128`s: 16-byte aligned).
static mut KERNEL_STACKS: [[u128; KERNEL_STACK_SIZE / 16]; 2] = [[0; KERNEL_STACK_SIZE / 16]; 2];

/// The two processes: their saved contexts and address spaces.
struct Processes {
    contexts: [UpcallContext; 2],
    roots: [u64; 2],
    current: usize,
    /// Samples of the runs done so far.
    done: Vec<Vec<u64>>,
    /// Where the kernel goes on when both runs are done.
    then: u64,
}

static PROCESSES: Mutex<Processes> = Mutex::new(Processes {
    contexts: [EMPTY; 2],
    roots: [0; 2],
    current: 0,
    done: Vec::new(),
    then: 0,
});
const EMPTY: UpcallContext = UpcallContext {
    r15: 0,
    r14: 0,
    r13: 0,
    r12: 0,
    r10: 0,
    r9: 0,
    r8: 0,
    rbp: 0,
    rdi: 0,
    rsi: 0,
    rdx: 0,
    rbx: 0,
    frame: shared_abi::trap::ExceptionFrame {
        rax: 0,
        rcx: 0,
        r11: 0,
        vector: 0,
        error_code: 0,
        fault_address: 0,
        rip: 0,
        rflags: 0,
        rsp: 0,
        saved_mask: 0,
    },
};
/// The stack the kernel goes on with (the boot stack is left behind).
const NEXT_STACK_SIZE: usize = 64 * 1024;
static mut NEXT_STACK: [u128; NEXT_STACK_SIZE / 16] = [0; NEXT_STACK_SIZE / 16];

// The program. rdi: samples, rsi: buffer, rdx: the call to time; a second
// process started with rdi = 0 only yields.
core::arch::global_asm!(
    ".section .text.bench_user_program, \"ax\"",
    ".global bench_user_start",
    ".global bench_user_end",
    "bench_user_start:",
    "test rdi, rdi",
    "jz 3f",
    "mov r12, rdi",
    "mov r13, rsi",
    "mov r14, rdx",
    "2:",
    "rdtsc",
    "shl rdx, 32",
    "or rax, rdx",
    "mov r15, rax",
    "mov rax, r14",
    "syscall",
    "rdtsc",
    "shl rdx, 32",
    "or rax, rdx",
    "sub rax, r15",
    "mov [r13], rax",
    "add r13, 8",
    "dec r12",
    "jnz 2b",
    "mov eax, 2",
    "syscall",
    "ud2",
    // The second process: yield forever.
    "3:",
    "mov eax, 1",
    "syscall",
    "jmp 3b",
    "bench_user_end:",
    ".text",
);

unsafe extern "C" {
    static bench_user_start: u8;
    static bench_user_end: u8;
}

fn kernel_stack_top(index: usize) -> u64 {
    let stacks = &raw const KERNEL_STACKS as u64;
    stacks + ((index + 1) * KERNEL_STACK_SIZE) as u64
}

/// Maps the program and its buffer as user pages of `root`'s tables (the
/// clones made afterwards share them).
fn map_program() {
    let code = paging::map_page(CODE, PageFlags::USER)
        .unwrap_or_else(|e| fail(format_args!("map user code: {e:?}")));
    for page in 0..BUFFER_PAGES {
        let flags = PageFlags::USER | PageFlags::WRITABLE | PageFlags::NO_EXECUTE;
        paging::map_page(BUFFER + page * 4096, flags)
            .unwrap_or_else(|e| fail(format_args!("map user buffer: {e:?}")));
    }
    let start = &raw const bench_user_start;
    // SAFETY: both symbols are defined by the global_asm! block above, the
    // end after the start, in one section.
    let len = unsafe { (&raw const bench_user_end).offset_from(start) } as usize;
    // SAFETY: `code` is a fresh frame of ours, reached through the
    // physical-memory mapping; `start` holds `len` (< 4096) bytes of code.
    unsafe { core::ptr::copy_nonoverlapping(start, phys_to_virt(code), len.min(4096)) };
}

fn system_call(context: *mut UpcallContext) -> *mut UpcallContext {
    // SAFETY: the stub passes the context it saved on the kernel stack.
    let saved = unsafe { &mut *context };
    if saved.frame.rax == NULL {
        saved.frame.rax = 0;
        return context;
    }
    let mut processes = PROCESSES.lock();
    match saved.frame.rax {
        YIELD => {
            let from = processes.current;
            let to = from ^ 1;
            processes.contexts[from] = *saved;
            processes.current = to;
            let _ = hv::mmu_set_base(processes.roots[to]);
            let _ = user::set_kernel_stack(kernel_stack_top(to));
            *saved = processes.contexts[to];
        }
        DONE => {
            let _ = hv::mmu_set_base(processes.roots[0]);
            processes.current = 0;
            let samples = read_samples(processes.roots[0]);
            processes.done.push(samples);
            *saved = match processes.done.len() {
                // Then the process switch, in the same program.
                1 => start(&mut processes, YIELD),
                _ => kernel_context(processes.then),
            };
        }
        other => fail(format_args!("bench program: system call {other}")),
    }
    context
}

/// Process 0 timing `call` from the start (process 1 yields back); returns
/// its first context.
fn start(processes: &mut Processes, call: u64) -> UpcallContext {
    let mut first = user::new_context(CODE, 0);
    first.rdi = SAMPLES as u64;
    first.rsi = BUFFER;
    first.rdx = call;
    processes.contexts = [first, user::new_context(CODE, 0)];
    processes.current = 0;
    let _ = user::set_kernel_stack(kernel_stack_top(0));
    first
}

/// A guest-kernel context that starts `entry` on the next stack, with
/// virtual interrupts enabled.
fn kernel_context(entry: u64) -> UpcallContext {
    let top = &raw const NEXT_STACK as u64 + NEXT_STACK_SIZE as u64;
    let mut context = EMPTY;
    context.frame.rip = entry;
    // As after a call: the return address slot below an aligned top.
    context.frame.rsp = top - 8;
    context.frame.rflags = 0x202;
    context
}

/// The program's samples, from its buffer in `root`'s tables.
fn read_samples(root: u64) -> Vec<u64> {
    (0..SAMPLES)
        .map(|index| {
            let virt = BUFFER + index as u64 * 8;
            let page = paging::translate(root, virt & !0xfff)
                .unwrap_or_else(|| fail(format_args!("bench buffer unmapped")));
            // SAFETY: the buffer's frames are ours, reached through the
            // physical-memory mapping; each sample is an aligned u64.
            unsafe {
                phys_to_virt(page)
                    .add((virt & 0xfff) as usize)
                    .cast::<u64>()
                    .read()
            }
        })
        .collect()
}

/// Measures the user figures, then goes on with `then` (on another
/// stack, virtual interrupts enabled), where [`take_figures`] gives them.
pub fn run_then(then: extern "C" fn() -> !) -> ! {
    map_program();
    let root = paging::current_root();
    let other = paging::clone_address_space(root).unwrap_or_else(|| fail(format_args!("no frame")));
    user::set_syscall_handler(system_call)
        .unwrap_or_else(|s| fail(format_args!("set_syscall_handler: {}", s.name())));
    let first = {
        let mut processes = PROCESSES.lock();
        processes.roots = [root, other];
        processes.then = then as usize as u64;
        start(&mut processes, NULL)
    };
    // SAFETY: a user context on this stack, which is not used again.
    unsafe { user::resume(&raw const first) }
}

/// `(user_syscall, process_switch)` samples, once [`run_then`] went on.
pub fn take_figures() -> (Vec<u64>, Vec<u64>) {
    let mut processes = PROCESSES.lock();
    let mut done = core::mem::take(&mut processes.done).into_iter();
    let null = done.next().unwrap_or_default();
    // Each round trip is two switches (there and back).
    let switches = done
        .next()
        .unwrap_or_default()
        .iter()
        .map(|t| t / 2)
        .collect();
    (null, switches)
}
