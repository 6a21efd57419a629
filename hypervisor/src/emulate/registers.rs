//! The general registers of an emulated instruction's operands, named as
//! the decoder names them (`iced_x86::Register`), read and written with
//! the CPU's width rules: a 32-bit write zero-extends to 64 bits, 8- and
//! 16-bit writes leave the rest of the register as it was, and `AH`..`BH`
//! are bits 8-15 of `RAX`..`RBX`.

use iced_x86::Register;

use crate::arch::x86_64::registers::Registers;

/// A general register: which of the sixteen, its width in bytes, and
/// whether it is one of the high-byte registers `AH`..`BH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Gpr {
    number: usize,
    width: u32,
    high_byte: bool,
}

fn gpr(register: Register) -> Option<Gpr> {
    let raw = register as u32;
    let (first, width) = match raw {
        _ if (Register::AH as u32..=Register::BH as u32).contains(&raw) => {
            return Some(Gpr {
                number: (raw - Register::AH as u32) as usize,
                width: 1,
                high_byte: true,
            });
        }
        _ if (Register::AL as u32..=Register::R15L as u32).contains(&raw) => (Register::AL, 1),
        _ if (Register::AX as u32..=Register::R15W as u32).contains(&raw) => (Register::AX, 2),
        _ if (Register::EAX as u32..=Register::R15D as u32).contains(&raw) => (Register::EAX, 4),
        _ if (Register::RAX as u32..=Register::R15 as u32).contains(&raw) => (Register::RAX, 8),
        _ => return None,
    };
    // AL..BL, then SPL..DIL (in the same order as RSP..RDI), R8L..: the
    // byte registers number like the others once AH..BH are set apart.
    let mut number = (raw - first as u32) as usize;
    if width == 1 && number >= 4 {
        number -= 4;
    }
    Some(Gpr {
        number,
        width,
        high_byte: false,
    })
}

fn slot(regs: &mut Registers, number: usize) -> &mut u64 {
    match number {
        0 => &mut regs.rax,
        1 => &mut regs.rcx,
        2 => &mut regs.rdx,
        3 => &mut regs.rbx,
        4 => &mut regs.rsp,
        5 => &mut regs.rbp,
        6 => &mut regs.rsi,
        7 => &mut regs.rdi,
        8 => &mut regs.r8,
        9 => &mut regs.r9,
        10 => &mut regs.r10,
        11 => &mut regs.r11,
        12 => &mut regs.r12,
        13 => &mut regs.r13,
        14 => &mut regs.r14,
        _ => &mut regs.r15,
    }
}

fn value(regs: &Registers, number: usize) -> u64 {
    match number {
        0 => regs.rax,
        1 => regs.rcx,
        2 => regs.rdx,
        3 => regs.rbx,
        4 => regs.rsp,
        5 => regs.rbp,
        6 => regs.rsi,
        7 => regs.rdi,
        8 => regs.r8,
        9 => regs.r9,
        10 => regs.r10,
        11 => regs.r11,
        12 => regs.r12,
        13 => regs.r13,
        14 => regs.r14,
        _ => regs.r15,
    }
}

fn mask(width: u32) -> u64 {
    match width {
        8 => u64::MAX,
        bytes => (1u64 << (bytes * 8)) - 1,
    }
}

/// The value of `register` (zero-extended), or `None` for a register that
/// is not a general one.
pub fn read(regs: &Registers, register: Register) -> Option<u64> {
    let gpr = gpr(register)?;
    let full = value(regs, gpr.number);
    Some(match gpr.high_byte {
        true => (full >> 8) & 0xff,
        false => full & mask(gpr.width),
    })
}

/// Writes `value` to `register` as the CPU would; `None` (and nothing
/// written) for a register that is not a general one.
pub fn write(regs: &mut Registers, register: Register, value: u64) -> Option<()> {
    let gpr = gpr(register)?;
    let full = slot(regs, gpr.number);
    *full = match (gpr.width, gpr.high_byte) {
        (1, true) => (*full & !0xff00) | ((value & 0xff) << 8),
        (4, _) => value & mask(4),
        (8, _) => value,
        (width, _) => (*full & !mask(width)) | (value & mask(width)),
    };
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_register_at_each_width() {
        let mut regs = Registers {
            rsp: 0x1111_2222_3333_4444,
            r12: 0xaaaa_bbbb_cccc_dddd,
            rbx: 0x0102_0304_0506_0708,
            ..Registers::default()
        };
        assert_eq!(read(&regs, Register::RSP), Some(0x1111_2222_3333_4444));
        assert_eq!(read(&regs, Register::SP), Some(0x4444));
        assert_eq!(read(&regs, Register::SPL), Some(0x44));
        assert_eq!(read(&regs, Register::R12D), Some(0xcccc_dddd));
        assert_eq!(read(&regs, Register::R12L), Some(0xdd));
        assert_eq!(read(&regs, Register::BH), Some(0x07));
        assert_eq!(read(&regs, Register::BL), Some(0x08));
        assert_eq!(read(&regs, Register::CR3), None);
        assert_eq!(read(&regs, Register::FS), None);

        write(&mut regs, Register::R12W, 0x1234).unwrap();
        assert_eq!(regs.r12, 0xaaaa_bbbb_cccc_1234);
        write(&mut regs, Register::R12D, 0xffff_0000).unwrap();
        assert_eq!(regs.r12, 0xffff_0000, "32-bit writes zero-extend");
        write(&mut regs, Register::BH, 0xee).unwrap();
        assert_eq!(regs.rbx, 0x0102_0304_0506_ee08);
        write(&mut regs, Register::DIL, 0x55).unwrap();
        assert_eq!(regs.rdi, 0x55);
        write(&mut regs, Register::R15, u64::MAX).unwrap();
        assert_eq!(regs.r15, u64::MAX);
        assert_eq!(write(&mut regs, Register::RIP, 0), None);
    }
}
