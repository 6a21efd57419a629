//! Every ring transition: exception and interrupt entry, `syscall` entry,
//! and the returns into a guest.
//!
//! Each entry builds a frame on the kernel stack and calls a Rust handler
//! with a pointer to it; the handler may rewrite the frame (to resume
//! another domain), and the exit path restores it with `iretq`, or with
//! `sysretq` when it resumes exactly where a `syscall` left off.
//!
//! ```text
//!  kernel stack top (TSS.rsp0, per-CPU kernel_stack_top)
//!  +---------------+
//!  | ss            |  \
//!  | rsp           |   |
//!  | rflags        |   |  pushed by the CPU (exceptions) or by
//!  | cs            |   |  syscall_entry (hypercalls)
//!  | rip           |  /
//!  | error_code    |  CPU-pushed, or 0 from the stub
//!  | vector        |  from the stub; SYSCALL_VECTOR for hypercalls
//!  | r11 rcx rax   |  \  the registers a Rust call may clobber:
//!  | r9 r8 r10     |   | a ScratchFrame from here up; the hypercall
//!  | rdx rsi rdi   |  /  arguments rdi, rsi, rdx, r10, r8 lie in order
//!  | r15 ... rbx   |  the registers Rust preserves, rbx lowest
//!  +---------------+  <- rsp when a full-frame handler is called
//! ```
//!
//! A hypercall first saves only the scratch part and asks
//! `handle_hypercall_fast` to serve it there; only when that cannot (the
//! call may switch domains or deliver an upcall) does it save the rest and
//! take the full path. Entries from ring 3 execute `swapgs` first and
//! returns to ring 3 execute it last (see `percpu`).

use core::arch::naked_asm;
use core::mem::{offset_of, size_of};

use super::exception::has_error_code;
use super::frame::{Fast, SYSCALL_VECTOR, ScratchFrame, TrapFrame};
use super::percpu;

/// Pushes the scratch registers below the vector/error-code pair (rdi
/// lowest, as [`ScratchFrame`] lays them out).
macro_rules! push_scratch {
    () => {
        concat!(
            "push r11\n",
            "push rcx\n",
            "push rax\n",
            "push r9\n",
            "push r8\n",
            "push r10\n",
            "push rdx\n",
            "push rsi\n",
            "push rdi\n",
        )
    };
}

/// Pushes the callee-saved registers below a scratch frame (rbx lowest).
macro_rules! push_preserved {
    () => {
        concat!(
            "push r15\n",
            "push r14\n",
            "push r13\n",
            "push r12\n",
            "push rbp\n",
            "push rbx\n",
        )
    };
}

/// From an exception or interrupt stub (vector and error code pushed):
/// `swapgs` if the CPU came from ring 3, saves every register, loads RFLAGS
/// with only its reserved bit (direction flag clear, as Rust code expects;
/// AC clear, so a guest that set it with `popf` cannot turn SMAP off for
/// the handler; interrupts stay off; `popfq` rather than `clac` works on
/// every CPU, with or without SMAP), calls `handler(frame)` and returns
/// through [`trap_return`].
macro_rules! save_and_call {
    ($handler:path) => {
        naked_asm!(
            // rsp points at the vector; the CPU-pushed cs is 3 slots up.
            "test byte ptr [rsp + 24], 3",
            "jz 2f",
            "swapgs",
            "2:",
            push_scratch!(),
            push_preserved!(),
            "push 2",
            "popfq",
            "mov rdi, rsp",
            "call {handler}",
            "jmp {restore}",
            handler = sym $handler,
            restore = sym trap_return,
        )
    };
}

/// Common interrupt path: frame complete but for the general registers.
#[unsafe(naked)]
extern "C" fn interrupt_common() {
    save_and_call!(super::trap::handle_interrupt)
}

/// An interrupt entry: pushes a zero error code and the vector, then
/// takes the common interrupt path.
macro_rules! interrupt_stub {
    ($(#[$doc:meta])* $name:ident, $vector:expr) => {
        $(#[$doc])*
        #[unsafe(naked)]
        pub extern "C" fn $name() {
            naked_asm!(
                "push 0",
                "push {vector}",
                "jmp {common}",
                vector = const $vector as u64,
                common = sym interrupt_common,
            )
        }
    };
}

interrupt_stub!(
    /// The APIC timer's entry.
    timer_entry,
    super::apic::TIMER_VECTOR
);
interrupt_stub!(
    /// The COM1 receive interrupt's entry.
    serial_entry,
    super::apic::SERIAL_VECTOR
);
interrupt_stub!(
    /// The disk's completion interrupt's entry.
    disk_entry,
    super::apic::DISK_VECTOR
);

/// The spurious-interrupt entry: nothing to do, not even an EOI.
#[unsafe(naked)]
pub extern "C" fn spurious_entry() {
    naked_asm!("iretq")
}

/// Common exception path: frame complete but for the general registers.
#[unsafe(naked)]
extern "C" fn exception_common() {
    save_and_call!(super::trap::handle_exception)
}

/// Restores the frame at `rsp` and returns from the trap, with `swapgs`
/// when it returns to ring 3.
#[unsafe(naked)]
pub extern "C" fn trap_return() -> ! {
    naked_asm!(
        "pop rbx",
        "pop rbp",
        "pop r12",
        "pop r13",
        "pop r14",
        "pop r15",
        "pop rdi",
        "pop rsi",
        "pop rdx",
        "pop r10",
        "pop r8",
        "pop r9",
        "pop rax",
        "pop rcx",
        "pop r11",
        "add rsp, 16",
        // rsp points at the rip the CPU will pop; cs is one slot up.
        "test byte ptr [rsp + 8], 3",
        "jz 2f",
        "swapgs",
        "2:",
        "iretq",
    )
}

/// Enters the frame at `frame` (anywhere in memory) for the first time.
///
/// # Safety
///
/// `frame` must describe a ring 3 context (see [`TrapFrame::load_guest`]),
/// with the address space it runs in already loaded, and GS_BASE must hold
/// the per-CPU block (the return swaps it for the guest's).
#[unsafe(naked)]
pub unsafe extern "C" fn enter_frame(frame: *const TrapFrame) -> ! {
    naked_asm!("mov rsp, rdi", "jmp {restore}", restore = sym trap_return)
}

/// `syscall` entry: switch to the kernel stack and save the scratch
/// registers (SFMASK has already cleared IF, DF, TF and AC), leaving room
/// above them for what an exception would have pushed. The fast path
/// ([`HYPERCALL_FAST`]) serves the call there and the guest resumes with
/// `sysretq` (its rip and rflags are still in rcx and r11, its rsp in the
/// per-CPU block), or with `iretq` from the frame the fast path completed
/// ([`Fast::Iret`]). Otherwise the fast path has completed the frame
/// ([`ScratchFrame::complete_syscall`]) and the full path runs and decides
/// how to return. While the loaded address space is a guest-user view (the
/// per-CPU flag), [`SYSTEM_CALL_FAST`] takes the place of the fast path,
/// with the same contract.
#[unsafe(naked)]
pub extern "C" fn syscall_entry() {
    naked_asm!(
        "swapgs",
        "mov gs:[{user_rsp}], rsp",
        "mov rsp, gs:[{stack_top}]",
        "sub rsp, {hardware}",
        push_scratch!(),
        "mov rdi, rsp",
        "cmp qword ptr gs:[{guest_user}], 0",
        "jne 6f",
        "call qword ptr [rip + {fast}]",
        "7:",
        "test al, al",
        "jnz 3f",
        "pop rdi", "pop rsi", "pop rdx", "pop r10", "pop r8", "pop r9", "pop rax",
        "pop rcx", "pop r11",
        "mov rsp, gs:[{user_rsp}]",
        "swapgs",
        "sysretq",
        "3:",
        "cmp al, {iret}",
        "je 5f",
        push_preserved!(),
        "mov rdi, rsp",
        "movzx esi, al",
        "call {handler}",
        "cmp qword ptr [rsp + {full_vector_at}], {vector}",
        "jne {restore}",
        // Resume where `syscall` left off: restore everything but rcx and
        // r11, which sysretq loads from rip and rflags.
        "pop rbx", "pop rbp", "pop r12", "pop r13", "pop r14", "pop r15",
        "pop rdi", "pop rsi", "pop rdx", "pop r10", "pop r8", "pop r9", "pop rax",
        "add rsp, 16",
        // rsp now points at `vector`.
        "mov rcx, [rsp + {rip}]",
        "mov r11, [rsp + {rflags}]",
        "mov rsp, [rsp + {rsp}]",
        "swapgs",
        "sysretq",
        // Served, to resume from the frame the fast path completed.
        "5:",
        "pop rdi", "pop rsi", "pop rdx", "pop r10", "pop r8", "pop r9", "pop rax",
        "pop rcx", "pop r11",
        "add rsp, 16",
        "swapgs",
        "iretq",
        // A system call from guest-user mode.
        "6:",
        "call qword ptr [rip + {system_call}]",
        "jmp 7b",
        iret = const Fast::Iret as u8,
        guest_user = const percpu::GUEST_USER,
        system_call = sym super::trap::SYSTEM_CALL_FAST,
        user_rsp = const percpu::USER_RSP,
        stack_top = const percpu::KERNEL_STACK_TOP,
        hardware = const size_of::<ScratchFrame>() - offset_of!(ScratchFrame, vector),
        fast = sym super::trap::HYPERCALL_FAST,
        vector = const SYSCALL_VECTOR,
        handler = sym super::trap::handle_syscall,
        restore = sym trap_return,
        full_vector_at = const offset_of!(TrapFrame, scratch) + offset_of!(ScratchFrame, vector),
        rip = const offset_of!(ScratchFrame, rip) - offset_of!(ScratchFrame, vector),
        rflags = const offset_of!(ScratchFrame, rflags) - offset_of!(ScratchFrame, vector),
        rsp = const offset_of!(ScratchFrame, rsp) - offset_of!(ScratchFrame, vector),
    )
}

/// The `syscall` entry while the bench runs (`hv_bench`): the bench's bare
/// round trip goes straight back (provided rcx is a canonical lower-half
/// address), everything else takes [`syscall_entry`]. Kept apart so that
/// the hypercall path pays nothing for it.
#[unsafe(naked)]
pub extern "C" fn bench_syscall_entry() {
    naked_asm!(
        "cmp rax, {bare}",
        "jne {entry}",
        "bt rcx, 47",
        "jc {entry}",
        "sysretq",
        bare = const shared_abi::bench::BARE_SYSCALL,
        entry = sym syscall_entry,
    )
}

macro_rules! exception_stubs {
    ($($vector:literal),* $(,)?) => {
        /// Entry stubs for vectors 0..32, indexed by vector.
        pub static EXCEPTION_STUBS: [extern "C" fn(); 32] = [$({
            #[unsafe(naked)]
            extern "C" fn stub() {
                naked_asm!(
                    ".if {no_error_code}",
                    "push 0",
                    ".endif",
                    "push {v}",
                    "jmp {common}",
                    no_error_code = const !has_error_code($vector) as u8,
                    v = const $vector,
                    common = sym exception_common,
                )
            }
            stub
        }),*];
    };
}

exception_stubs!(
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31
);
