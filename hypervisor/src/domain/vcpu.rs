//! A virtual CPU: its register state, saved while its domain is not
//! running, and [`Context`], the view of a guest context the core reads
//! and changes (the saved registers of a waiting vCPU, or the live frame
//! on the kernel stack of the running one).

pub use crate::arch::x86_64::registers::Registers;

/// A virtual CPU: its context, saved as the entry frame it resumes from
/// (already safe to resume: ring 3 selectors, sanitised flags), so that
/// parking and resuming it are one copy each.
#[cfg(target_os = "none")]
#[derive(Clone, Copy, Debug)]
pub struct Vcpu {
    frame: crate::arch::x86_64::frame::TrapFrame,
}

#[cfg(target_os = "none")]
impl Vcpu {
    /// A vCPU that starts with `regs` in ring 3.
    pub fn new(regs: &Registers) -> Self {
        let mut frame = crate::arch::x86_64::frame::TrapFrame::default();
        frame.load_guest(regs);
        Self { frame }
    }

    /// Saves the running context `frame` (the vCPU stops running).
    pub fn park(&mut self, frame: &crate::arch::x86_64::frame::TrapFrame) {
        self.frame = *frame;
        let flags = self.frame.scratch.rflags;
        self.frame.set_rflags(flags);
    }

    /// Loads the saved context into `frame` (the vCPU runs from it).
    pub fn resume_into(&self, frame: &mut crate::arch::x86_64::frame::TrapFrame) {
        *frame = self.frame;
    }

    /// The registers it resumes with.
    pub fn registers(&self) -> Registers {
        self.frame.registers()
    }

    /// Changes the registers it resumes with (in ring 3, flags sanitised;
    /// the caller checked that `rip` is a lower-half address).
    pub fn set_registers(&mut self, regs: &Registers) {
        self.frame.load_guest(regs);
    }
}

/// The registers of a guest context that hypercalls and trap delivery
/// read and change. Setters of a live frame keep it safe to resume: flags
/// are sanitised when the frame is restored.
pub trait Context {
    /// Instruction pointer.
    fn rip(&self) -> u64;
    /// Sets the instruction pointer (the caller checked it is lower-half).
    fn set_rip(&mut self, value: u64);
    /// Stack pointer.
    fn rsp(&self) -> u64;
    /// Sets the stack pointer.
    fn set_rsp(&mut self, value: u64);
    /// Flags as the guest sees them.
    fn rflags(&self) -> u64;
    /// Sets the flags (sanitised before the guest runs).
    fn set_rflags(&mut self, value: u64);
    /// `rax`, `rcx` and `r11`: what `syscall` and a trap frame carry.
    fn rax(&self) -> u64;
    /// `rcx`.
    fn rcx(&self) -> u64;
    /// Sets `rcx`.
    fn set_rcx(&mut self, value: u64);
    /// `r11`.
    fn r11(&self) -> u64;
    /// Sets `r11`.
    fn set_r11(&mut self, value: u64);
}

macro_rules! context_fields {
    ($($field:ident . $($path:ident).* , $set:ident);* $(;)?) => {
        $(
            fn $field(&self) -> u64 {
                self.$($path).*
            }
            fn $set(&mut self, value: u64) {
                self.$($path).* = value;
            }
        )*
    };
}

impl Context for Registers {
    context_fields!(
        rip.rip, set_rip;
        rsp.rsp, set_rsp;
        rflags.rflags, set_rflags;
        rcx.rcx, set_rcx;
        r11.r11, set_r11;
    );

    fn rax(&self) -> u64 {
        self.rax
    }
}

#[cfg(target_os = "none")]
impl Context for crate::arch::x86_64::frame::TrapFrame {
    context_fields!(
        rip.scratch.rip, set_rip;
        rsp.scratch.rsp, set_rsp;
        rcx.scratch.rcx, set_rcx;
        r11.scratch.r11, set_r11;
    );

    fn rax(&self) -> u64 {
        self.scratch.rax
    }

    fn rflags(&self) -> u64 {
        self.scratch.rflags
    }

    /// The frame is restored as it is: the flags are sanitised here.
    fn set_rflags(&mut self, value: u64) {
        self.scratch.rflags = crate::arch::x86_64::frame::guest_rflags(value);
    }
}

#[cfg(target_os = "none")]
impl Context for crate::arch::x86_64::frame::ScratchFrame {
    context_fields!(
        rip.rip, set_rip;
        rsp.rsp, set_rsp;
        rcx.rcx, set_rcx;
        r11.r11, set_r11;
    );

    fn rax(&self) -> u64 {
        self.rax
    }

    fn rflags(&self) -> u64 {
        self.rflags
    }

    /// The frame is restored as it is: the flags are sanitised here.
    fn set_rflags(&mut self, value: u64) {
        self.rflags = crate::arch::x86_64::frame::guest_rflags(value);
    }
}
