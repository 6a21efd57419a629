//! The general registers, instruction pointer, stack pointer and flags of
//! a ring 3 context: what a vCPU saves while it is not running.

/// RFLAGS.TF: the CPU raises a debug exception after each instruction.
pub const RFLAGS_TF: u64 = 1 << 8;

/// General registers, instruction pointer, stack pointer and flags of a
/// guest context.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Registers {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rsp: u64,
    pub rflags: u64,
}
