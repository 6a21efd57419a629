//! The frames every ring transition saves on the kernel stack (see the
//! drawing in [`super::entry`]), and the verdict of the fast hypercall
//! path: the layout contract between the entry code and the Rust that
//! reads and rewrites the frames.

use core::mem::{offset_of, size_of};

use super::gdt::{USER_CS, USER_SS};
use super::percpu;
use super::registers::Registers;

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

/// What the fast hypercall path did (see `trap::Core::hypercall_fast`).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fast {
    /// Served; the caller resumes with `sysretq`, only `rax` changed.
    Done = 0,
    /// Served, but the full exit path must run (`trap::Exit::HypercallServed`).
    Served = 1,
    /// Not a call the fast path serves (`trap::Exit::Hypercall`).
    Unserved = 2,
    /// Served, and the frame (completed by the fast path) resumes with
    /// `iretq`: the call changed more than `rax`.
    Iret = 3,
}
