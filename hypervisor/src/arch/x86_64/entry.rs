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
use super::gdt::{USER_CS, USER_SS};
use super::percpu;
use super::registers::Registers;
use super::trap::Fast;

/// Vector value recorded in frames built by `syscall` entry.
pub const SYSCALL_VECTOR: u64 = 0x100;

/// The registers a Rust call may clobber, then what the CPU (or the
/// `syscall` entry) pushed: the part of the frame every entry saves first.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct ScratchFrame {
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub r10: u64,
    pub r8: u64,
    pub r9: u64,
    pub rax: u64,
    pub rcx: u64,
    pub r11: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// The saved state of an interrupted context: the callee-saved registers
/// below a [`ScratchFrame`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct TrapFrame {
    pub rbx: u64,
    pub rbp: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub scratch: ScratchFrame,
}

// The push order in the stubs below must produce exactly these layouts.
const _: () = {
    assert!(offset_of!(ScratchFrame, rdi) == 0);
    assert!(offset_of!(ScratchFrame, r8) == 4 * 8);
    assert!(offset_of!(ScratchFrame, r11) == 8 * 8);
    assert!(offset_of!(ScratchFrame, vector) == 9 * 8);
    assert!(offset_of!(ScratchFrame, rip) == 11 * 8);
    assert!(size_of::<ScratchFrame>() == 16 * 8);
    assert!(offset_of!(TrapFrame, r15) == 5 * 8);
    assert!(offset_of!(TrapFrame, scratch) == 6 * 8);
    assert!(size_of::<TrapFrame>() == 22 * 8);
    // Both keep a 16-byte-aligned stack 16-byte aligned.
    assert!(size_of::<ScratchFrame>().is_multiple_of(16));
    assert!(size_of::<TrapFrame>().is_multiple_of(16));
};

/// The hypercall arguments (`rdi`, `rsi`, `rdx`, `r10`, `r8`), in order.
pub type HypercallArgs = [u64; 5];

impl ScratchFrame {
    /// Fills in what an exception would have pushed for a `syscall` the
    /// fast path saved (vector, error code, rip from rcx, rflags from r11,
    /// the caller's rsp from the per-CPU block, the user selectors), making
    /// this a complete frame. The fast path calls it before anything but
    /// the `syscall` return reads those fields.
    #[inline]
    pub fn complete_syscall(&mut self) {
        self.vector = SYSCALL_VECTOR;
        self.error_code = 0;
        self.rip = self.rcx;
        self.cs = USER_CS as u64;
        self.rflags = self.r11;
        self.rsp = percpu::this().user_rsp();
        self.ss = USER_SS as u64;
    }

    /// The hypercall arguments, read in place.
    pub fn args(&self) -> &HypercallArgs {
        // SAFETY: rdi, rsi, rdx, r10 and r8 are the first five fields of a
        // repr(C) struct of u64s (asserted above), so they form a [u64; 5].
        unsafe { &*(&raw const self.rdi).cast::<HypercallArgs>() }
    }
}

/// RFLAGS bits a guest may hold: CF PF AF ZF SF TF DF OF, RF, AC and ID.
const GUEST_RFLAGS_MASK: u64 = 0x0000_0000_0025_0dd5;
/// Always set for a guest: the reserved bit 1 and IF.
const GUEST_RFLAGS_FORCED: u64 = 0x202;

/// `rflags` as a guest may hold them: IOPL 0, interrupts enabled, no
/// nested-task or VM86 bits.
pub const fn guest_rflags(rflags: u64) -> u64 {
    (rflags & GUEST_RFLAGS_MASK) | GUEST_RFLAGS_FORCED
}

impl TrapFrame {
    /// Whether the interrupted code ran in ring 3.
    pub fn interrupted_user(&self) -> bool {
        self.scratch.cs & 3 == 3
    }

    /// The guest registers held in this frame.
    pub fn registers(&self) -> Registers {
        let s = &self.scratch;
        Registers {
            rax: s.rax,
            rbx: self.rbx,
            rcx: s.rcx,
            rdx: s.rdx,
            rsi: s.rsi,
            rdi: s.rdi,
            rbp: self.rbp,
            r8: s.r8,
            r9: s.r9,
            r10: s.r10,
            r11: s.r11,
            r12: self.r12,
            r13: self.r13,
            r14: self.r14,
            r15: self.r15,
            rip: s.rip,
            rsp: s.rsp,
            rflags: s.rflags,
        }
    }

    /// Makes this frame resume a guest with `regs` in ring 3. RFLAGS is
    /// sanitised: IOPL 0, interrupts enabled, no nested-task or VM86 bits.
    pub fn load_guest(&mut self, regs: &Registers) {
        *self = TrapFrame {
            rbx: regs.rbx,
            rbp: regs.rbp,
            r12: regs.r12,
            r13: regs.r13,
            r14: regs.r14,
            r15: regs.r15,
            scratch: ScratchFrame {
                rdi: regs.rdi,
                rsi: regs.rsi,
                rdx: regs.rdx,
                r10: regs.r10,
                r8: regs.r8,
                r9: regs.r9,
                rax: regs.rax,
                rcx: regs.rcx,
                r11: regs.r11,
                vector: 0,
                error_code: 0,
                rip: regs.rip,
                cs: USER_CS as u64,
                rflags: guest_rflags(regs.rflags),
                rsp: regs.rsp,
                ss: USER_SS as u64,
            },
        };
    }
}

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
        system_call = sym SYSTEM_CALL_FAST,
        user_rsp = const percpu::USER_RSP,
        stack_top = const percpu::KERNEL_STACK_TOP,
        hardware = const size_of::<ScratchFrame>() - offset_of!(ScratchFrame, vector),
        fast = sym HYPERCALL_FAST,
        vector = const SYSCALL_VECTOR,
        handler = sym super::trap::handle_syscall,
        restore = sym trap_return,
        full_vector_at = const offset_of!(TrapFrame, scratch) + offset_of!(ScratchFrame, vector),
        rip = const offset_of!(ScratchFrame, rip) - offset_of!(ScratchFrame, vector),
        rflags = const offset_of!(ScratchFrame, rflags) - offset_of!(ScratchFrame, vector),
        rsp = const offset_of!(ScratchFrame, rsp) - offset_of!(ScratchFrame, vector),
    )
}

/// The fast hypercall path the `syscall` entry calls with the scratch
/// frame (see `trap::Core::hypercall_fast`); until the core is installed,
/// nothing is served fast.
pub static mut HYPERCALL_FAST: extern "C" fn(&mut ScratchFrame) -> Fast = unserved;

/// What the `syscall` entry calls instead while the per-CPU guest-user
/// flag is set (see `trap::Core::system_call_fast`).
pub static mut SYSTEM_CALL_FAST: extern "C" fn(&mut ScratchFrame) -> Fast = unserved;

extern "C" fn unserved(frame: &mut ScratchFrame) -> Fast {
    frame.complete_syscall();
    Fast::Unserved
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
