//! Execution modes: how a domain's privileged instructions are served.
//!
//! A domain runs in one [`Mode`], chosen per guest in its bundle entry
//! (`cargo xtask run --guest PATH,mode=emulate`, or `mode = "patch"` in a
//! `[[guest]]` table):
//!
//! - [`Mode::Paravirtual`] (the default): the guest asks for everything
//!   privileged by hypercall; a privileged instruction is a fault, reflected
//!   to the guest's handler or stopping the domain.
//! - [`Mode::Emulate`] (trap and emulate): the privileged instructions a
//!   kernel uses run for real in ring 3, fault, and the hypervisor decodes
//!   and executes them against the domain's virtual CPU, then resumes the
//!   guest after them.
//! - [`Mode::Patch`] (binary translation, minimally): as `Emulate`, and
//!   at the first fault of an instruction the hypervisor also rewrites it
//!   in place: its first byte becomes `int3`, and a table keyed by the
//!   instruction's address holds what it does. Later executions take that
//!   one-byte hypercall instead of being fetched and decoded again.
//!
//! The constants below are what the virtual CPU of an emulated domain
//! shows: `docs/abi/hypercalls.md` ("Emulation mode") is the contract.

/// How a domain's privileged instructions are served.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Mode {
    /// Hypercalls only; privileged instructions fault.
    #[default]
    Paravirtual = 0,
    /// Privileged instructions trap and are emulated.
    Emulate = 1,
    /// As `Emulate`, and each emulated instruction is patched in place.
    Patch = 2,
}

impl Mode {
    /// Every mode, by number.
    pub const ALL: [Mode; 3] = [Mode::Paravirtual, Mode::Emulate, Mode::Patch];

    /// The mode numbered `number` (the bundle's encoding).
    pub const fn from_number(number: u64) -> Option<Mode> {
        match number {
            0 => Some(Mode::Paravirtual),
            1 => Some(Mode::Emulate),
            2 => Some(Mode::Patch),
            _ => None,
        }
    }

    /// The name the tools use: `pv`, `emulate` or `patch`.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Paravirtual => "pv",
            Mode::Emulate => "emulate",
            Mode::Patch => "patch",
        }
    }

    /// The mode named `name` (see [`Mode::name`]).
    pub fn from_name(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|mode| mode.name() == name)
    }

    /// Whether privileged instructions are emulated (every mode but
    /// [`Mode::Paravirtual`]).
    pub const fn emulates(self) -> bool {
        !matches!(self, Mode::Paravirtual)
    }
}

/// The code selector an emulated domain's kernel runs with, as the frames
/// its virtual IDT delivers show it (RPL 0: `iretq` to it faults in ring 3
/// and is emulated).
pub const VIRTUAL_KERNEL_CS: u16 = 0x08;
/// The stack selector those frames show.
pub const VIRTUAL_KERNEL_SS: u16 = 0x10;

/// CR0 as the virtual CPU shows it (`mov reg, cr0`, `smsw`): PG, WP, NE,
/// ET, MP, PE. x87 emulation (EM) and task switches (TS) are not shown.
pub const VIRTUAL_CR0: u64 = 0x8001_0033;
/// CR4 as the virtual CPU shows it (`mov reg, cr4`): PAE and PGE.
pub const VIRTUAL_CR4: u64 = 0x0000_00a0;
/// EFER as the virtual CPU shows it: SCE, LME, LMA, NXE.
pub const VIRTUAL_EFER: u64 = 0x0000_0d01;

/// The first I/O port of the emulated console, a 16550 UART at COM1's
/// address; its eight registers are `COM1..COM1 + 8`.
pub const COM1: u16 = 0x3f8;

/// The model-specific registers `rdmsr` and `wrmsr` reach in an emulated
/// domain; any other number is a general-protection fault, as on a CPU
/// without it.
pub mod msr {
    /// `IA32_TIME_STAMP_COUNTER`: read gives the TSC; not writable.
    pub const TSC: u32 = 0x10;
    /// `IA32_PAT`: read and written, kept per vCPU (the shadow tables do
    /// not apply it).
    pub const PAT: u32 = 0x277;
    /// `IA32_EFER`: read gives [`super::VIRTUAL_EFER`]; a write of that
    /// same value is accepted, any other faults.
    pub const EFER: u32 = 0xc000_0080;
    /// `IA32_TSC_AUX`: read and written, kept per vCPU.
    pub const TSC_AUX: u32 = 0xc000_0103;
    /// `IA32_PAT` after reset.
    pub const PAT_RESET: u64 = 0x0007_0406_0007_0406;
}

/// `rflags.IF`: in frames the virtual IDT delivers and `iretq` pops, the
/// virtual interrupt flag.
pub const RFLAGS_IF: u64 = 1 << 9;

/// Bytes of a gate descriptor of the virtual IDT.
pub const GATE_BYTES: usize = 16;

/// A present 64-bit gate of the virtual IDT for `handler` (selector
/// [`VIRTUAL_KERNEL_CS`], no IST): an interrupt gate, which clears the
/// virtual interrupt flag on entry, when `interrupt`, else a trap gate.
pub const fn gate(handler: u64, interrupt: bool) -> [u8; GATE_BYTES] {
    let cs = VIRTUAL_KERNEL_CS.to_le_bytes();
    let kind = if interrupt { 0x8e } else { 0x8f };
    [
        handler as u8,
        (handler >> 8) as u8,
        cs[0],
        cs[1],
        0,
        kind,
        (handler >> 16) as u8,
        (handler >> 24) as u8,
        (handler >> 32) as u8,
        (handler >> 40) as u8,
        (handler >> 48) as u8,
        (handler >> 56) as u8,
        0,
        0,
        0,
        0,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        for mode in Mode::ALL {
            assert_eq!(Mode::from_name(mode.name()), Some(mode));
            assert_eq!(Mode::from_number(mode as u64), Some(mode));
        }
        assert_eq!(Mode::from_number(3), None);
        assert_eq!(Mode::from_name("native"), None);
        assert!(!Mode::Paravirtual.emulates() && Mode::Patch.emulates());
    }
}
