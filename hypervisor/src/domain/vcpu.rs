//! A virtual CPU's register state, saved while its domain is not running.

pub use crate::arch::x86_64::registers::Registers;

/// A virtual CPU.
#[derive(Clone, Copy, Debug, Default)]
pub struct Vcpu {
    /// Saved registers (current while the vCPU is not running).
    pub regs: Registers,
}
