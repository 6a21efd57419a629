//! Every ring transition: exception entry, `syscall` entry, and the single
//! return path into a guest.
//!
//! Each entry builds a [`TrapFrame`] on the kernel stack and calls a Rust
//! handler with a pointer to it; the handler may rewrite the frame (to
//! resume another domain), and [`trap_return`] restores it with `iretq`.
//!
//! ```text
//!  kernel stack top (TSS.rsp0, KERNEL_STACK_TOP)
//!  +---------------+
//!  | ss            |  \
//!  | rsp           |   |
//!  | rflags        |   |  pushed by the CPU (exceptions) or by
//!  | cs            |   |  syscall_entry (hypercalls)
//!  | rip           |  /
//!  | error_code    |  CPU-pushed, or 0 from the stub
//!  | vector        |  from the stub; SYSCALL_VECTOR for hypercalls
//!  | rax ... r15   |  general registers, r15 lowest
//!  +---------------+  <- rsp when the handler is called (16-byte aligned)
//! ```

use core::arch::naked_asm;
use core::mem::{offset_of, size_of};

use super::exception::has_error_code;
use super::gdt::{USER_CS, USER_SS};
use crate::domain::vcpu::Registers;

/// Vector value recorded in frames built by `syscall` entry.
pub const SYSCALL_VECTOR: u64 = 0x100;

/// The saved state of an interrupted context.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

// The push order in the stubs below must produce exactly this layout.
const _: () = {
    assert!(offset_of!(TrapFrame, r15) == 0);
    assert!(offset_of!(TrapFrame, rax) == 14 * 8);
    assert!(offset_of!(TrapFrame, vector) == 15 * 8);
    assert!(offset_of!(TrapFrame, rip) == 17 * 8);
    assert!(size_of::<TrapFrame>() == 22 * 8);
    // 22 quadwords keep a 16-byte-aligned stack 16-byte aligned.
    assert!(size_of::<TrapFrame>().is_multiple_of(16));
};

/// RFLAGS bits a guest may hold: CF PF AF ZF SF TF DF OF, RF, AC and ID.
const GUEST_RFLAGS_MASK: u64 = 0x0000_0000_0025_0dd5;
/// Always set for a guest: the reserved bit 1 and IF.
const GUEST_RFLAGS_FORCED: u64 = 0x202;

impl TrapFrame {
    /// Whether the interrupted code ran in ring 3.
    pub fn from_user(&self) -> bool {
        self.cs & 3 == 3
    }

    /// The guest registers held in this frame.
    pub fn registers(&self) -> Registers {
        Registers {
            rax: self.rax,
            rbx: self.rbx,
            rcx: self.rcx,
            rdx: self.rdx,
            rsi: self.rsi,
            rdi: self.rdi,
            rbp: self.rbp,
            r8: self.r8,
            r9: self.r9,
            r10: self.r10,
            r11: self.r11,
            r12: self.r12,
            r13: self.r13,
            r14: self.r14,
            r15: self.r15,
            rip: self.rip,
            rsp: self.rsp,
            rflags: self.rflags,
        }
    }

    /// Makes this frame resume a guest with `regs` in ring 3. RFLAGS is
    /// sanitised: IOPL 0, interrupts enabled, no nested-task or VM86 bits.
    pub fn load_guest(&mut self, regs: &Registers) {
        *self = TrapFrame {
            r15: regs.r15,
            r14: regs.r14,
            r13: regs.r13,
            r12: regs.r12,
            r11: regs.r11,
            r10: regs.r10,
            r9: regs.r9,
            r8: regs.r8,
            rbp: regs.rbp,
            rdi: regs.rdi,
            rsi: regs.rsi,
            rdx: regs.rdx,
            rcx: regs.rcx,
            rbx: regs.rbx,
            rax: regs.rax,
            vector: 0,
            error_code: 0,
            rip: regs.rip,
            cs: USER_CS as u64,
            rflags: (regs.rflags & GUEST_RFLAGS_MASK) | GUEST_RFLAGS_FORCED,
            rsp: regs.rsp,
            ss: USER_SS as u64,
        };
    }
}

/// Pushes the general registers below the vector/error-code pair (r15
/// lowest, as [`TrapFrame`] lays them out), loads RFLAGS with only its
/// reserved bit (direction flag clear, as Rust code expects; AC clear, so
/// a guest that set it with `popf` cannot turn SMAP off for the handler;
/// interrupts stay off) and points `rdi` at the frame. `popfq` rather than
/// `clac` works on every CPU, with or without SMAP.
macro_rules! save_registers {
    () => {
        concat!(
            "push rax\n",
            "push rbx\n",
            "push rcx\n",
            "push rdx\n",
            "push rsi\n",
            "push rdi\n",
            "push rbp\n",
            "push r8\n",
            "push r9\n",
            "push r10\n",
            "push r11\n",
            "push r12\n",
            "push r13\n",
            "push r14\n",
            "push r15\n",
            "push 2\n",
            "popfq\n",
            "mov rdi, rsp",
        )
    };
}

/// Saves the general registers below the vector/error-code pair, calls
/// `handler(frame)`, then returns through [`trap_return`].
macro_rules! save_and_call {
    ($handler:path) => {
        naked_asm!(
            save_registers!(),
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

/// Restores the frame at `rsp` and returns from the trap.
#[unsafe(naked)]
pub extern "C" fn trap_return() -> ! {
    naked_asm!(
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop r11",
        "pop r10",
        "pop r9",
        "pop r8",
        "pop rbp",
        "pop rdi",
        "pop rsi",
        "pop rdx",
        "pop rcx",
        "pop rbx",
        "pop rax",
        "add rsp, 16",
        "iretq",
    )
}

/// Enters the frame at `frame` (anywhere in memory) for the first time.
///
/// # Safety
///
/// `frame` must describe a ring 3 context (see [`TrapFrame::load_guest`]),
/// with the address space it runs in already loaded.
#[unsafe(naked)]
pub unsafe extern "C" fn enter_frame(frame: *const TrapFrame) -> ! {
    naked_asm!("mov rsp, rdi", "jmp {restore}", restore = sym trap_return)
}

/// Scratch slot for the guest's `rsp` during `syscall` entry (one CPU,
/// interrupts masked by SFMASK, so it is never used twice at once).
#[unsafe(no_mangle)]
static mut SYSCALL_USER_RSP: u64 = 0;
/// Top of the kernel stack, also TSS.rsp0.
#[unsafe(no_mangle)]
pub static mut KERNEL_STACK_TOP: u64 = 0;

/// `syscall` entry: switch to the kernel stack and build a [`TrapFrame`] as
/// an exception would have, with `rip` from `rcx` and `rflags` from `r11`.
#[unsafe(naked)]
pub extern "C" fn syscall_entry() {
    naked_asm!(
        // The bench's bare round trip (only with `hv_bench`): straight back,
        // provided rcx is a canonical lower-half address.
        "cmp rax, {bare}",
        "jne 3f",
        "cmp byte ptr [rip + {bench}], 0",
        "je 3f",
        "bt rcx, 47",
        "jc 3f",
        "sysretq",
        "3:",
        "mov [rip + {user_rsp}], rsp",
        "mov rsp, [rip + {stack_top}]",
        "push {user_ss}",
        "push qword ptr [rip + {user_rsp}]",
        "push r11",
        "push {user_cs}",
        "push rcx",
        "push 0",
        "push {vector}",
        "jmp {common}",
        user_rsp = sym SYSCALL_USER_RSP,
        stack_top = sym KERNEL_STACK_TOP,
        user_ss = const USER_SS,
        user_cs = const USER_CS,
        vector = const SYSCALL_VECTOR,
        common = sym syscall_common,
        bare = const shared_abi::bench::BARE_SYSCALL,
        bench = sym super::trap::BENCH_PROBE,
    )
}

/// Common hypercall path: frame complete but for the general registers.
/// When the handler leaves `vector` as [`SYSCALL_VECTOR`], the frame
/// resumes exactly where `syscall` left off (rcx = rip, r11 = rflags, rip in
/// the lower half), and `sysretq` returns faster than `iretq`.
#[unsafe(naked)]
extern "C" fn syscall_common() {
    naked_asm!(
        save_registers!(),
        "call {handler}",
        "cmp qword ptr [rsp + {vector}], {syscall_vector}",
        "jne {restore}",
        "pop r15", "pop r14", "pop r13", "pop r12", "add rsp, 8", "pop r10", "pop r9", "pop r8",
        "pop rbp", "pop rdi", "pop rsi", "pop rdx", "add rsp, 8", "pop rbx", "pop rax",
        // rsp now points at `vector`.
        "mov rcx, [rsp + {rip}]",
        "mov r11, [rsp + {rflags}]",
        "mov rsp, [rsp + {rsp}]",
        "sysretq",
        handler = sym super::trap::handle_syscall,
        restore = sym trap_return,
        vector = const offset_of!(TrapFrame, vector),
        syscall_vector = const SYSCALL_VECTOR,
        rip = const offset_of!(TrapFrame, rip) - offset_of!(TrapFrame, vector),
        rflags = const offset_of!(TrapFrame, rflags) - offset_of!(TrapFrame, vector),
        rsp = const offset_of!(TrapFrame, rsp) - offset_of!(TrapFrame, vector),
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
