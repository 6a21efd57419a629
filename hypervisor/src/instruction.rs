//! Names the privileged instruction at a faulting guest address, so that a
//! contained guest is reported as "privileged instruction cli" rather than as
//! a bare general-protection fault.
//!
//! The bytes are decoded with `iced-x86` (prefixes, REX, ModRM and operand
//! sizes as the CPU reads them), and the decoded instruction is named only
//! if it is one that faults in ring 3 because of its privilege: the
//! supervisor instructions, port I/O (IOPL is 0), `int n` through a gate of
//! privilege 0, and the descriptor-table and machine-status stores that
//! CR4.UMIP turns into faults.

use core::fmt;

use iced_x86::{Decoder, DecoderOptions, Mnemonic, OpKind, Register};

/// Longest x86 instruction, in bytes.
pub const MAX_INSTRUCTION_BYTES: usize = 15;

/// A privileged instruction, as reports name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Privileged {
    /// An instruction named by its mnemonic alone.
    Plain(&'static str),
    /// `int n`.
    Interrupt(u8),
    /// `mov crN, reg`.
    MovToControl(u8),
    /// `mov reg, crN`.
    MovFromControl(u8),
    /// `mov` to or from a debug register.
    MovDebug,
}

impl fmt::Display for Privileged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Privileged::Plain(name) => f.write_str(name),
            Privileged::Interrupt(vector) => write!(f, "int {vector:#x}"),
            Privileged::MovToControl(n) => write!(f, "mov to cr{n}"),
            Privileged::MovFromControl(n) => write!(f, "mov from cr{n}"),
            Privileged::MovDebug => f.write_str("mov debug register"),
        }
    }
}

/// Decodes the instruction starting at `code` (up to 15 bytes, fewer if
/// the rest is unreadable) and names it if it is privileged.
pub fn privileged_instruction(code: &[u8]) -> Option<Privileged> {
    let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let instruction = decoder.decode();
    if instruction.is_invalid() {
        return None;
    }
    let plain = |name| Some(Privileged::Plain(name));
    match instruction.mnemonic() {
        Mnemonic::Mov => {
            let (to, from) = (instruction.op0_register(), instruction.op1_register());
            if let Some(n) = control_register(to) {
                Some(Privileged::MovToControl(n))
            } else if let Some(n) = control_register(from) {
                Some(Privileged::MovFromControl(n))
            } else if is_debug_register(to) || is_debug_register(from) {
                Some(Privileged::MovDebug)
            } else {
                None
            }
        }
        Mnemonic::Int if instruction.op0_kind() == OpKind::Immediate8 => {
            Some(Privileged::Interrupt(instruction.immediate8()))
        }
        Mnemonic::Cli => plain("cli"),
        Mnemonic::Sti => plain("sti"),
        Mnemonic::Hlt => plain("hlt"),
        Mnemonic::In => plain("in"),
        Mnemonic::Out => plain("out"),
        Mnemonic::Insb | Mnemonic::Insw | Mnemonic::Insd => plain("ins"),
        Mnemonic::Outsb | Mnemonic::Outsw | Mnemonic::Outsd => plain("outs"),
        Mnemonic::Iret | Mnemonic::Iretd | Mnemonic::Iretq => plain("iret"),
        Mnemonic::Rdmsr => plain("rdmsr"),
        Mnemonic::Wrmsr => plain("wrmsr"),
        Mnemonic::Rdpmc => plain("rdpmc"),
        Mnemonic::Clts => plain("clts"),
        Mnemonic::Invd => plain("invd"),
        Mnemonic::Wbinvd => plain("wbinvd"),
        Mnemonic::Wbnoinvd => plain("wbnoinvd"),
        Mnemonic::Invlpg => plain("invlpg"),
        Mnemonic::Invpcid => plain("invpcid"),
        Mnemonic::Lgdt => plain("lgdt"),
        Mnemonic::Lidt => plain("lidt"),
        Mnemonic::Lldt => plain("lldt"),
        Mnemonic::Ltr => plain("ltr"),
        Mnemonic::Lmsw => plain("lmsw"),
        Mnemonic::Sgdt => plain("sgdt"),
        Mnemonic::Sidt => plain("sidt"),
        Mnemonic::Sldt => plain("sldt"),
        Mnemonic::Str => plain("str"),
        Mnemonic::Smsw => plain("smsw"),
        Mnemonic::Xsetbv => plain("xsetbv"),
        Mnemonic::Swapgs => plain("swapgs"),
        Mnemonic::Sysexit => plain("sysexit"),
        Mnemonic::Sysret => plain("sysret"),
        Mnemonic::Monitor => plain("monitor"),
        Mnemonic::Mwait => plain("mwait"),
        _ => None,
    }
}

fn control_register(register: Register) -> Option<u8> {
    let n = (register as u32).checked_sub(Register::CR0 as u32)?;
    (n <= Register::CR15 as u32 - Register::CR0 as u32).then_some(n as u8)
}

fn is_debug_register(register: Register) -> bool {
    (Register::DR0 as u32..=Register::DR15 as u32).contains(&(register as u32))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    fn name(bytes: &[u8]) -> Option<std::string::String> {
        privileged_instruction(bytes).map(|p| p.to_string())
    }

    #[test]
    fn names_each_privileged_class() {
        let cases: &[(&[u8], &str)] = &[
            (&[0xfa], "cli"),
            (&[0xfb], "sti"),
            (&[0xf4], "hlt"),
            (&[0x0f, 0x22, 0xd8], "mov to cr3"),
            (&[0x0f, 0x22, 0xc0], "mov to cr0"),
            (&[0x0f, 0x20, 0xe0], "mov from cr4"),
            (&[0x0f, 0x23, 0xf8], "mov debug register"),
            (&[0xec], "in"),
            (&[0xe6, 0x80], "out"),
            (&[0x0f, 0x32], "rdmsr"),
            (&[0x0f, 0x30], "wrmsr"),
            (&[0x0f, 0x01, 0x10], "lgdt"),
            (&[0x0f, 0x01, 0x18], "lidt"),
            (&[0x0f, 0x01, 0x38], "invlpg"),
            (&[0xcd, 0x80], "int 0x80"),
            (&[0x48, 0x0f, 0x01, 0x38], "invlpg"),
            (&[0x66, 0xef], "out"),
            (&[0x0f, 0x01, 0xd1], "xsetbv"),
            (&[0x0f, 0x01, 0x00], "sgdt"),
            (&[0x0f, 0x01, 0x08], "sidt"),
            (&[0x0f, 0x01, 0xe0], "smsw"),
            (&[0x0f, 0x00, 0xc0], "sldt"),
            (&[0x0f, 0x00, 0xc8], "str"),
            (&[0x0f, 0x01, 0xf8], "swapgs"),
            (&[0x48, 0xcf], "iret"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(name(bytes).as_deref(), Some(*expected), "{bytes:x?}");
        }
    }

    #[test]
    fn ordinary_or_truncated_code_is_not_named() {
        for bytes in [
            &[0x90][..],
            &[0x0f],
            &[0x48, 0x48],
            &[],
            &[0x0f, 0x01, 0xd0], // xgetbv: allowed in ring 3
            &[0x48, 0x89, 0xd8], // mov rax, rbx
            &[0x0f, 0x22],       // truncated mov to cr
            &[0xcc],             // int3: allowed by its gate
            &[0x0f, 0x05],       // syscall
        ] {
            assert_eq!(name(bytes), None, "{bytes:x?}");
        }
    }
}
