//! Scenario guest: the hypervisor's guest-user mode, checked from the guest
//! kernel. A small position-independent program is copied into a page
//! mapped with the user bit, and run in guest-user mode once per test;
//! each run ends in a trap that enters this kernel on its registered
//! kernel stack, where the handler checks what arrived and starts the next.
//!
//! - `syscall` in user mode is a system call: the kernel's entry gets the
//!   number and arguments, and its result comes back in `rax`; hypercall
//!   numbers (`abi_version`, `shutdown`) are system calls too.
//! - The kernel's own pages (read, written, executed, even ones the kernel
//!   just used) fault in user mode, with the fault address; the kernel
//!   reaches them as before.
//! - `cli`, `hlt`, `mov cr3`, `out`, `in` raise #GP, `int3` #BP, all
//!   delivered to the kernel with the user context marked in the frame.
//! - A timer upcall interrupts a spinning user program and enters the
//!   kernel with the user context.
//! - Without a system-call entry, a user `syscall` is #UD; without a kernel
//!   stack, `iret` to user mode is refused.
//!
//! With the argument `bad-kernel-stack` the registered kernel stack is not
//! mapped: the first system call cannot enter the kernel, and the domain
//! is stopped with a report (the scenario checks that a neighbour finishes).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::memory::paging::{self, PageFlags};
use guest_kernel::memory::phys_to_virt;
use guest_kernel::{check, hv, interrupts, println, scenario};
use shared_abi::event::Virq;
use shared_abi::guest::upcall::UpcallContext;
use shared_abi::guest::user;
use shared_abi::hypercall::request::{SetKernelStack, SetSyscallEntry};
use shared_abi::trap::{ExceptionFrame, USER_MODE};
use shared_abi::{Hypercall, Status};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

/// Where the user program's code and stack go (user pages).
const USER_CODE: u64 = 0x10_0000_0000;
const USER_STACK: u64 = 0x10_0001_0000;
const USER_STACK_TOP: u64 = USER_STACK + 0x1000;
/// The system call that ends the system-call test: its argument is the
/// result of the first one.
const DONE_CALL: u64 = 999;

/// A kernel stack top in nothing mapped (`bad-kernel-stack`).
const UNMAPPED_STACK_TOP: u64 = 0x20_0000_0000;

const KERNEL_STACK_SIZE: usize = 16 * 1024;
/// The kernel stack (`u128`s: 16-byte aligned).
static mut KERNEL_STACK: [u128; KERNEL_STACK_SIZE / 16] = [0; KERNEL_STACK_SIZE / 16];

/// Data of the kernel's own: user code must not read or write it.
static SECRET: AtomicU64 = AtomicU64::new(0x5ec7e7);

/// What each test runs (`rdi` of the program) and what must end it.
#[derive(Clone, Copy)]
struct Test {
    name: &'static str,
    selector: u64,
    /// `rsi` of the program: the address it uses.
    operand: fn() -> u64,
    /// The vector that must end it (`None`: system calls end it).
    vector: Option<u64>,
}

fn secret_address() -> u64 {
    &raw const SECRET as u64
}
fn kernel_code_address() -> u64 {
    main as *const () as u64
}
/// The kernel's own page-fault entry: user code jumping there faults (in
/// user mode) exactly there, which must not pass for a handler that faults.
fn handler_address() -> u64 {
    user::entry_address()
}
fn nothing() -> u64 {
    0
}

const PAGE_FAULT: Option<u64> = Some(14);
const GENERAL_PROTECTION: Option<u64> = Some(13);

const TESTS: [Test; 12] = [
    Test {
        name: "system calls",
        selector: 0,
        operand: nothing,
        vector: None,
    },
    Test {
        name: "read kernel data",
        selector: 1,
        operand: secret_address,
        vector: PAGE_FAULT,
    },
    Test {
        name: "write kernel data",
        selector: 2,
        operand: secret_address,
        vector: PAGE_FAULT,
    },
    Test {
        name: "jump into the kernel",
        selector: 3,
        operand: kernel_code_address,
        vector: PAGE_FAULT,
    },
    Test {
        name: "jump to the kernel's fault handler",
        selector: 3,
        operand: handler_address,
        vector: PAGE_FAULT,
    },
    Test {
        name: "cli",
        selector: 4,
        operand: nothing,
        vector: GENERAL_PROTECTION,
    },
    Test {
        name: "hlt",
        selector: 5,
        operand: nothing,
        vector: GENERAL_PROTECTION,
    },
    Test {
        name: "mov cr3",
        selector: 6,
        operand: nothing,
        vector: GENERAL_PROTECTION,
    },
    Test {
        name: "out",
        selector: 7,
        operand: nothing,
        vector: GENERAL_PROTECTION,
    },
    Test {
        name: "in",
        selector: 8,
        operand: nothing,
        vector: GENERAL_PROTECTION,
    },
    Test {
        name: "int3",
        selector: 9,
        operand: nothing,
        vector: Some(3),
    },
    Test {
        name: "timer upcall while spinning",
        selector: 10,
        operand: nothing,
        vector: Some(32),
    },
];
/// After the table: a `syscall` with no entry registered must be #UD.
const NO_ENTRY_TEST: usize = TESTS.len();

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static SYSTEM_CALLS: AtomicU64 = AtomicU64::new(0);

// The user program: position-independent, selected by `rdi`, using `rsi`.
core::arch::global_asm!(
    ".section .text.user_program, \"ax\"",
    ".global user_program_start",
    ".global user_program_end",
    "user_program_start:",
    "cmp rdi, 0",
    "je 20f",
    "cmp rdi, 1",
    "je 21f",
    "cmp rdi, 2",
    "je 22f",
    "cmp rdi, 3",
    "je 23f",
    "cmp rdi, 4",
    "je 24f",
    "cmp rdi, 5",
    "je 25f",
    "cmp rdi, 6",
    "je 26f",
    "cmp rdi, 7",
    "je 27f",
    "cmp rdi, 8",
    "je 28f",
    "cmp rdi, 9",
    "je 29f",
    "cmp rdi, 10",
    "je 30f",
    // 11: a system call (with no entry registered: #UD).
    "mov eax, 1000",
    "syscall",
    "ud2",
    // 0: system calls: 1000(21) must give 42; then hypercall numbers
    // (abi_version, shutdown) as system calls; then DONE_CALL(result).
    "20:",
    "mov eax, 1000",
    "mov edi, 21",
    "syscall",
    "mov rbx, rax",
    "mov eax, 0",
    "syscall",
    "mov eax, 3",
    "mov edi, 77",
    "syscall",
    "mov eax, 999",
    "mov rdi, rbx",
    "syscall",
    "ud2",
    "21:",
    "mov rax, [rsi]",
    "ud2",
    "22:",
    "mov [rsi], rax",
    "ud2",
    "23:",
    "jmp rsi",
    "24:",
    "cli",
    "ud2",
    "25:",
    "hlt",
    "ud2",
    "26:",
    "xor eax, eax",
    "mov cr3, rax",
    "ud2",
    "27:",
    "mov dx, 0x3f8",
    "out dx, al",
    "ud2",
    "28:",
    "mov dx, 0x3f8",
    "in al, dx",
    "ud2",
    "29:",
    "int3",
    "ud2",
    "30:",
    "jmp 30b",
    "user_program_end:",
    ".text",
);

unsafe extern "C" {
    static user_program_start: u8;
    static user_program_end: u8;
}

/// Maps the user program's code and stack pages (user, not the kernel's)
/// and copies the program in.
fn map_user_pages() {
    let code = paging::map_page(USER_CODE, PageFlags::USER)
        .unwrap_or_else(|e| scenario::fail(format_args!("map code: {e:?}")));
    paging::map_page(
        USER_STACK,
        PageFlags::USER | PageFlags::WRITABLE | PageFlags::NO_EXECUTE,
    )
    .unwrap_or_else(|e| scenario::fail(format_args!("map stack: {e:?}")));
    let start = &raw const user_program_start;
    // SAFETY: both symbols are defined by the global_asm! block above, the
    // end after the start, in one section.
    let len = unsafe { (&raw const user_program_end).offset_from(start) } as usize;
    check!(len < 4096, "the user program is {len} bytes");
    // SAFETY: `code` is a fresh frame of ours, reached through the
    // physical-memory mapping; `start` holds `len` bytes of code.
    unsafe { core::ptr::copy_nonoverlapping(start, phys_to_virt(code), len) };
}

fn kernel_stack_range() -> core::ops::Range<u64> {
    let bottom = &raw const KERNEL_STACK as u64;
    bottom..bottom + KERNEL_STACK_SIZE as u64
}

/// Turns `context` into a fresh run of test `index`.
fn start(context: *mut UpcallContext, index: usize) -> *mut UpcallContext {
    CURRENT.store(index, Ordering::SeqCst);
    let mut fresh = user::new_context(USER_CODE, USER_STACK_TOP);
    let (selector, operand) = match TESTS.get(index) {
        Some(test) => (test.selector, (test.operand)()),
        None => (11, 0),
    };
    fresh.rdi = selector;
    fresh.rsi = operand;
    if TESTS.get(index).is_some_and(|t| t.vector == Some(32)) {
        arm_timer();
    }
    // SAFETY: the context the stub saved on the kernel stack, ours to
    // rewrite.
    unsafe { *context = fresh };
    context
}

/// Checks that the entry came from user mode, on the kernel stack.
fn check_entry(context: *mut UpcallContext, what: &str) -> ExceptionFrame {
    // SAFETY: the stub passes the context it saved.
    let frame = unsafe { (*context).frame };
    check!(
        frame.is_user(),
        "{what}: the frame is not marked user ({:#x})",
        frame.saved_mask
    );
    check!(
        kernel_stack_range().contains(&(context as u64)),
        "{what}: the frame is at {:#x}, not on the kernel stack",
        context as u64
    );
    check!(
        (USER_STACK..=USER_STACK_TOP).contains(&frame.rsp),
        "{what}: user rsp {:#x}",
        frame.rsp
    );
    frame
}

/// The end of a test: the next one, or the end of the scenario.
fn next(context: *mut UpcallContext) -> *mut UpcallContext {
    let index = CURRENT.load(Ordering::SeqCst) + 1;
    if index == NO_ENTRY_TEST {
        // A user `syscall` without a system-call entry is #UD.
        // SAFETY: removing the entry touches no memory.
        let removed = unsafe { hv::call(SetSyscallEntry { handler: 0 }) };
        check!(
            removed.is_ok(),
            "removing the system-call entry: {removed:?}"
        );
    }
    if index > NO_ENTRY_TEST {
        finish();
    }
    start(context, index)
}

fn system_call(context: *mut UpcallContext) -> *mut UpcallContext {
    let frame = check_entry(context, "system call");
    // SAFETY: the stub passes the context it saved.
    let saved = unsafe { &mut *context };
    SYSTEM_CALLS.fetch_add(1, Ordering::SeqCst);
    check!(
        frame.rip >= USER_CODE && frame.rip < USER_CODE + 4096,
        "system call from {:#x}",
        frame.rip
    );
    check!(
        frame.rcx == frame.rip,
        "rcx {:#x} is not the return address",
        frame.rcx
    );
    match frame.rax {
        1000 => saved.frame.rax = saved.rdi * 2,
        // Hypercall numbers from user code are only system calls here.
        0 | 3 => saved.frame.rax = 0,
        DONE_CALL => {
            check!(
                saved.rdi == 42,
                "the first system call returned {}",
                saved.rdi
            );
            let calls = SYSTEM_CALLS.load(Ordering::SeqCst);
            check!(calls == 4, "{calls} system calls arrived, 4 were made");
            println!("user-mode: system calls: 4 arrived, results returned");
            return next(context);
        }
        other => scenario::fail(format_args!("unexpected system call {other}")),
    }
    context
}

fn trap(context: *mut UpcallContext) -> *mut UpcallContext {
    // SAFETY: the stub passes the context it saved.
    let vector = unsafe { (*context).frame.vector };
    let index = CURRENT.load(Ordering::SeqCst);
    if index == NO_ENTRY_TEST {
        check_entry(context, "syscall without an entry");
        check!(
            vector == 6,
            "syscall without an entry: vector {vector}, expected 6"
        );
        println!("user-mode: syscall without a system-call entry: #UD");
        return next(context);
    }
    let test = TESTS[index];
    let frame = check_entry(context, test.name);
    check!(
        Some(vector) == test.vector,
        "{}: vector {vector}, expected {:?}",
        test.name,
        test.vector
    );
    if vector == 14 {
        let operand = (test.operand)();
        check!(
            frame.fault_address == operand,
            "{}: fault at {:#x}, expected {operand:#x}",
            test.name,
            frame.fault_address
        );
    }
    println!(
        "user-mode: {}: vector {vector} error {:#x} address {:#x}, user context",
        test.name, frame.error_code, frame.fault_address
    );
    next(context)
}

/// The runtime's upcall exit: a timer upcall that interrupted the spinning
/// user program ends that test.
fn upcall_exit(context: *mut UpcallContext) -> *mut UpcallContext {
    // SAFETY: the runtime passes the context the upcall stub saved.
    let frame = unsafe { (*context).frame };
    if !frame.is_user() {
        return context;
    }
    let index = CURRENT.load(Ordering::SeqCst);
    if TESTS.get(index).and_then(|t| t.vector) != Some(32) {
        // An upcall during another test: the program resumes.
        return context;
    }
    check_entry(context, "timer upcall");
    println!("user-mode: timer upcall while spinning: kernel entered from the user context");
    next(context)
}

fn on_timer(_port: u32) {}

/// The last checks, from the kernel, then the end.
fn finish() -> ! {
    // Re-registered entry; then: no kernel stack, no way into user mode.
    // SAFETY: removing the stack writes no memory.
    let removed = unsafe { hv::call(SetKernelStack { top: 0 }) };
    check!(removed.is_ok(), "removing the kernel stack: {removed:?}");
    let context = user::new_context(USER_CODE, USER_STACK_TOP);
    let refused = iret_raw(&context.frame);
    check!(
        refused == Status::InvalidArgument.to_raw(),
        "iret to user mode without a kernel stack returned {refused:#x}"
    );
    println!("user-mode: iret to user mode without a kernel stack: refused");
    // The kernel still reaches its own data.
    check!(
        SECRET.load(Ordering::SeqCst) == 0x5ec7e7,
        "the kernel's data changed"
    );
    scenario::done()
}

/// The `iret` hypercall on `frame`, returning its status if refused.
fn iret_raw(frame: &ExceptionFrame) -> u64 {
    let result: u64;
    // SAFETY: rsp points at a readable frame for the call; a refused iret
    // returns where the syscall left off with rsp unchanged, and it is
    // restored from r12 (declared clobbered) in any case.
    unsafe {
        core::arch::asm!(
            "mov r12, rsp",
            "mov rsp, {frame}",
            "syscall",
            "mov rsp, r12",
            frame = in(reg) frame as *const ExceptionFrame,
            inlateout("rax") Hypercall::Iret as u64 => result,
            out("r12") _, out("rcx") _, out("r11") _,
        );
    }
    result
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    map_user_pages();
    // The kernel has just used its data: the user view still lacks it.
    SECRET.fetch_add(0, Ordering::SeqCst);
    let top = match scenario::start_info().args().contains("bad-kernel-stack") {
        true => UNMAPPED_STACK_TOP,
        false => kernel_stack_range().end,
    };
    user::set_kernel_stack(top).unwrap_or_else(|s| scenario::fail(format_args!("{}", s.name())));
    user::set_syscall_handler(system_call)
        .unwrap_or_else(|s| scenario::fail(format_args!("{}", s.name())));
    for vector in [3, 6, 13, 14] {
        user::set_trap_handler(vector, trap)
            .unwrap_or_else(|s| scenario::fail(format_args!("{}", s.name())));
    }
    interrupts::set_upcall_exit(upcall_exit);
    interrupts::bind_virq(Virq::Timer, on_timer)
        .unwrap_or_else(|s| scenario::fail(format_args!("bind timer: {}", s.name())));
    interrupts::enable();
    println!("user-mode: entering user mode at {USER_CODE:#x}");
    let mut first = UpcallContext::default();
    start(&raw mut first, 0);
    check!(
        first.frame.saved_mask & USER_MODE != 0,
        "the first context is not a user one"
    );
    // SAFETY: a user context on this stack, which is not used again.
    unsafe { user::resume(&raw const first) }
}

/// A timer upcall in 20 ms (for the spinning test).
fn arm_timer() {
    let deadline = interrupts::now_ns() + 20_000_000;
    hv::events::set_timer(deadline)
        .unwrap_or_else(|s| scenario::fail(format_args!("set_timer: {}", s.name())));
}
