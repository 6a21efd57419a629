//! Decoding a faulting instruction into the operation the virtual CPU
//! performs for it.
//!
//! The bytes are decoded by `iced-x86` as the CPU decodes them in 64-bit
//! mode (legacy and REX prefixes, ModRM and SIB, displacements, operand
//! and address sizes), at the instruction's own address so that a
//! RIP-relative operand means what it meant to the CPU. Only the exact
//! forms listed in [`Kind`] are operations; anything else (another
//! instruction, a form with a `lock` prefix, bytes that run out before the
//! instruction ends) is not emulated, and the fault it raised stands.

use iced_x86::{Code, Decoder, DecoderOptions, Instruction, OpKind, Register};

/// `hlt`'s one byte: after `sti`, it is taken with it (see [`Kind::StiHlt`]).
const HLT: u8 = 0xf4;

/// What an emulated instruction does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `cli`: clear the virtual interrupt flag.
    Cli,
    /// `sti`: set it.
    Sti,
    /// `sti` directly followed by `hlt`, taken as one: the CPU delivers no
    /// interrupt between the two (`sti` holds them off for one
    /// instruction), so an event that is already pending wakes the `hlt`
    /// instead of being delivered before it and lost to it.
    StiHlt,
    /// `hlt`: wait for an event.
    Hlt,
    /// `mov cr3, r64`: switch address space.
    MovToCr3,
    /// `mov r64, crN` for CR0, CR2, CR3 and CR4.
    MovFromCr(u8),
    /// `invlpg m`: drop one page's translation.
    Invlpg,
    /// `lidt m`.
    Lidt,
    /// `lgdt m`.
    Lgdt,
    /// `sidt m`.
    Sidt,
    /// `sgdt m`.
    Sgdt,
    /// `smsw r/m`.
    Smsw,
    /// `str r/m`.
    Str,
    /// `sldt r/m`.
    Sldt,
    /// `out` of `width` bytes (1, 2 or 4) from AL/AX/EAX, port in DX or an
    /// immediate.
    Out {
        /// Bytes written.
        width: u8,
    },
    /// `in` of `width` bytes into AL/AX/EAX.
    In {
        /// Bytes read.
        width: u8,
    },
    /// `rdmsr`.
    Rdmsr,
    /// `wrmsr`.
    Wrmsr,
    /// `iretq` (64-bit operand size).
    Iretq,
}

/// A decoded privileged instruction: what it does, its length, and the
/// decoded instruction its operands come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    kind: Kind,
    length: u8,
    instruction: Instruction,
}

impl Operation {
    /// What the instruction does.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Bytes from the instruction's address to where execution continues
    /// (both instructions for [`Kind::StiHlt`]).
    pub fn length(&self) -> u8 {
        self.length
    }

    /// The instruction's address.
    pub fn address(&self) -> u64 {
        self.instruction.ip()
    }

    /// Register operand `index`, if the operand is a register.
    pub fn register(&self, index: u32) -> Option<Register> {
        (self.instruction.op_kind(index) == OpKind::Register)
            .then(|| self.instruction.op_register(index))
    }

    /// The port of `in` or `out`: DX, or the immediate.
    pub fn port(&self, dx: u16) -> u16 {
        let operand = match self.kind {
            Kind::Out { .. } => 0,
            _ => 1,
        };
        match self.instruction.op_kind(operand) {
            OpKind::Immediate8 => self.instruction.immediate8() as u16,
            _ => dx,
        }
    }

    /// The address of memory operand 0, from the registers `value` gives
    /// (segment bases are 0: see `docs/abi/hypercalls.md`); `None` when
    /// operand 0 is not in memory.
    pub fn memory_address(&self, mut value: impl FnMut(Register) -> Option<u64>) -> Option<u64> {
        if self.instruction.op_kind(0) != OpKind::Memory {
            return None;
        }
        self.instruction.virtual_address(0, 0, |register, _, _| {
            if (Register::ES..=Register::GS).contains(&register) {
                Some(0)
            } else {
                value(register)
            }
        })
    }
}

/// Decodes the instruction at the start of `bytes`, found at guest
/// address `rip`, into an operation; `None` if it is not one the virtual
/// CPU performs.
pub fn decode(bytes: &[u8], rip: u64) -> Option<Operation> {
    let mut decoder = Decoder::with_ip(64, bytes, rip, DecoderOptions::NONE);
    let instruction = decoder.decode();
    if instruction.is_invalid() || instruction.has_lock_prefix() {
        return None;
    }
    let length = instruction.len();
    let kind = match instruction.code() {
        Code::Cli => Kind::Cli,
        Code::Sti if bytes.get(length) == Some(&HLT) => Kind::StiHlt,
        Code::Sti => Kind::Sti,
        Code::Hlt => Kind::Hlt,
        Code::Mov_cr_r64 if instruction.op0_register() == Register::CR3 => Kind::MovToCr3,
        Code::Mov_r64_cr => match instruction.op1_register() {
            Register::CR0 => Kind::MovFromCr(0),
            Register::CR2 => Kind::MovFromCr(2),
            Register::CR3 => Kind::MovFromCr(3),
            Register::CR4 => Kind::MovFromCr(4),
            _ => return None,
        },
        Code::Invlpg_m => Kind::Invlpg,
        Code::Lidt_m1664 => Kind::Lidt,
        Code::Lgdt_m1664 => Kind::Lgdt,
        Code::Sidt_m1664 => Kind::Sidt,
        Code::Sgdt_m1664 => Kind::Sgdt,
        Code::Smsw_rm16 | Code::Smsw_r32m16 | Code::Smsw_r64m16 => Kind::Smsw,
        Code::Str_rm16 | Code::Str_r32m16 | Code::Str_r64m16 => Kind::Str,
        Code::Sldt_rm16 | Code::Sldt_r32m16 | Code::Sldt_r64m16 => Kind::Sldt,
        Code::Out_DX_AL | Code::Out_imm8_AL => Kind::Out { width: 1 },
        Code::Out_DX_AX | Code::Out_imm8_AX => Kind::Out { width: 2 },
        Code::Out_DX_EAX | Code::Out_imm8_EAX => Kind::Out { width: 4 },
        Code::In_AL_DX | Code::In_AL_imm8 => Kind::In { width: 1 },
        Code::In_AX_DX | Code::In_AX_imm8 => Kind::In { width: 2 },
        Code::In_EAX_DX | Code::In_EAX_imm8 => Kind::In { width: 4 },
        Code::Rdmsr => Kind::Rdmsr,
        Code::Wrmsr => Kind::Wrmsr,
        Code::Iretq => Kind::Iretq,
        _ => return None,
    };
    let length = match kind {
        Kind::StiHlt => length + 1,
        _ => length,
    };
    Some(Operation {
        kind,
        length: length as u8,
        instruction,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(bytes: &[u8]) -> Option<(Kind, u8)> {
        decode(bytes, 0x40_0000).map(|op| (op.kind(), op.length()))
    }

    #[test]
    fn decodes_every_form_with_its_length() {
        let cases: &[(&[u8], Kind, u8)] = &[
            (&[0xfa], Kind::Cli, 1),
            (&[0xfb, 0x90], Kind::Sti, 1),
            (&[0xfb, 0xf4], Kind::StiHlt, 2),
            (&[0xf4], Kind::Hlt, 1),
            (&[0x0f, 0x22, 0xd8], Kind::MovToCr3, 3),
            (&[0x41, 0x0f, 0x22, 0xd8], Kind::MovToCr3, 4), // mov cr3, r8
            (&[0x0f, 0x20, 0xd8], Kind::MovFromCr(3), 3),
            (&[0x0f, 0x20, 0xd0], Kind::MovFromCr(2), 3),
            (&[0x0f, 0x20, 0xe0], Kind::MovFromCr(4), 3),
            (&[0x0f, 0x01, 0x38], Kind::Invlpg, 3),
            (&[0x0f, 0x01, 0x7c, 0xd8, 0x10], Kind::Invlpg, 5), // [rax+rbx*8+0x10]
            (&[0x67, 0x0f, 0x01, 0x38], Kind::Invlpg, 4),       // [eax]
            (&[0x0f, 0x01, 0x3d, 0, 0, 0, 0], Kind::Invlpg, 7), // [rip+0]
            (&[0x0f, 0x01, 0x18], Kind::Lidt, 3),
            (&[0x0f, 0x01, 0x10], Kind::Lgdt, 3),
            (&[0x0f, 0x01, 0x08], Kind::Sidt, 3),
            (&[0x0f, 0x01, 0x00], Kind::Sgdt, 3),
            (&[0x0f, 0x01, 0xe0], Kind::Smsw, 3),
            (&[0x48, 0x0f, 0x01, 0xe0], Kind::Smsw, 4),
            (&[0x0f, 0x00, 0xc8], Kind::Str, 3),
            (&[0x0f, 0x00, 0xc0], Kind::Sldt, 3),
            (&[0xee], Kind::Out { width: 1 }, 1),
            (&[0x66, 0xef], Kind::Out { width: 2 }, 2),
            (&[0xef], Kind::Out { width: 4 }, 1),
            (&[0xe6, 0x80], Kind::Out { width: 1 }, 2),
            (&[0xec], Kind::In { width: 1 }, 1),
            (&[0xe5, 0xfd], Kind::In { width: 4 }, 2),
            (&[0x0f, 0x32], Kind::Rdmsr, 2),
            (&[0x0f, 0x30], Kind::Wrmsr, 2),
            (&[0x48, 0xcf], Kind::Iretq, 2),
            // Redundant prefixes count in the length.
            (&[0x2e, 0x3e, 0xfa], Kind::Cli, 3),
            (&[0xf3, 0x0f, 0x01, 0x38], Kind::Invlpg, 4),
        ];
        for (bytes, expected, length) in cases {
            assert_eq!(kind(bytes), Some((*expected, *length)), "{bytes:x?}");
        }
    }

    #[test]
    fn refuses_other_forms_and_truncated_bytes() {
        for bytes in [
            &[0x90][..],
            &[0xcf],                   // iretd: 32-bit operand size
            &[0x66, 0xcf],             // iretw
            &[0xf0, 0xfa],             // lock cli: #UD on the CPU
            &[0x0f, 0x22, 0xc0],       // mov cr0, rax
            &[0x44, 0x0f, 0x22, 0xc0], // mov cr8, rax
            &[0x0f, 0x20, 0xc8],       // mov rax, cr1: no such register
            &[0x0f, 0x01],             // truncated
            &[0x0f, 0x01, 0x7c, 0xd8], // truncated displacement
            &[0xf3, 0x6e],             // rep outsb
            &[0x0f, 0x00, 0xd8],       // ltr
            &[0xcd, 0x80],
            &[],
        ] {
            assert_eq!(kind(bytes), None, "{bytes:x?}");
        }
    }

    #[test]
    fn operands_follow_prefixes_modrm_and_rip() {
        let regs = |register: Register| match register {
            Register::RAX => Some(0x1000),
            Register::RBX => Some(2),
            Register::EAX => Some(0x1000),
            _ => None,
        };
        let op = decode(&[0x0f, 0x01, 0x7c, 0xd8, 0x10], 0).unwrap();
        assert_eq!(op.memory_address(regs), Some(0x1000 + 2 * 8 + 0x10));
        let op = decode(&[0x0f, 0x01, 0x3d, 0x10, 0, 0, 0], 0x40_0000).unwrap();
        assert_eq!(
            op.memory_address(regs),
            Some(0x40_0007 + 0x10),
            "rip-relative"
        );
        let op = decode(&[0x64, 0x0f, 0x01, 0x38], 0).unwrap();
        assert_eq!(op.memory_address(regs), Some(0x1000), "fs base is 0");
        let op = decode(&[0x0f, 0x01, 0xe0], 0).unwrap();
        assert_eq!(
            (op.memory_address(regs), op.register(0)),
            (None, Some(Register::EAX))
        );
        let op = decode(&[0x41, 0x0f, 0x22, 0xd8], 0).unwrap();
        assert_eq!(op.register(1), Some(Register::R8));
        let op = decode(&[0xe6, 0x80], 0).unwrap();
        assert_eq!(op.port(0x3f8), 0x80);
        let op = decode(&[0xee], 0).unwrap();
        assert_eq!(op.port(0x3f8), 0x3f8);
        let op = decode(&[0xe5, 0xfd], 0).unwrap();
        assert_eq!(op.port(0), 0xfd);
    }
}
