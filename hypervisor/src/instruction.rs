//! Names the privileged instruction at a faulting guest address, so that a
//! contained guest is reported as "privileged instruction cli" rather than as
//! a bare general-protection fault.
//!
//! This is a deliberately small decoder: it skips legacy and REX prefixes and
//! recognises the opcodes a kernel written for bare metal would use.

/// Returns the mnemonic of the privileged instruction starting at `code`, or
/// `None` if the bytes are not one this decoder knows.
pub fn privileged_mnemonic(code: &[u8]) -> Option<&'static str> {
    let start = code.iter().position(|byte| !is_prefix(*byte))?;
    let code = &code[start..];
    let opcode = *code.first()?;
    let second = code.get(1).copied();
    Some(match opcode {
        0xfa => "cli",
        0xfb => "sti",
        0xf4 => "hlt",
        0xe4 | 0xe5 | 0xec | 0xed => "in",
        0xe6 | 0xe7 | 0xee | 0xef => "out",
        0x6c | 0x6d => "ins",
        0x6e | 0x6f => "outs",
        0xcd => "int",
        0xcf => "iret",
        0x0f => match second? {
            0x20 => "mov from control register",
            0x22 => match code.get(2).map(|modrm| (modrm >> 3) & 7) {
                Some(3) => "mov to cr3",
                Some(0) => "mov to cr0",
                Some(4) => "mov to cr4",
                _ => "mov to control register",
            },
            0x21 | 0x23 => "mov debug register",
            0x30 => "wrmsr",
            0x32 => "rdmsr",
            0x06 => "clts",
            0x08 => "invd",
            0x09 => "wbinvd",
            0x35 => "sysexit",
            0x07 => "sysret",
            0x01 => match code.get(2).copied() {
                Some(0xf8) => "swapgs",
                Some(0xc8) => "monitor",
                Some(0xc9) => "mwait",
                Some(modrm) => match (modrm >> 3) & 7 {
                    2 => "lgdt",
                    3 => "lidt",
                    6 => "lmsw",
                    7 => "invlpg",
                    _ => return None,
                },
                None => return None,
            },
            0x00 => match code.get(2).map(|modrm| (modrm >> 3) & 7) {
                Some(2) => "lldt",
                Some(3) => "ltr",
                _ => return None,
            },
            _ => return None,
        },
        _ => return None,
    })
}

fn is_prefix(byte: u8) -> bool {
    matches!(
        byte,
        0x40..=0x4f | 0x66 | 0x67 | 0xf0 | 0xf2 | 0xf3 | 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_privileged_class() {
        let cases: &[(&[u8], &str)] = &[
            (&[0xfa], "cli"),
            (&[0xfb], "sti"),
            (&[0xf4], "hlt"),
            (&[0x0f, 0x22, 0xd8], "mov to cr3"),
            (&[0x0f, 0x22, 0xc0], "mov to cr0"),
            (&[0xec], "in"),
            (&[0xe6, 0x80], "out"),
            (&[0x0f, 0x32], "rdmsr"),
            (&[0x0f, 0x30], "wrmsr"),
            (&[0x0f, 0x01, 0x10], "lgdt"),
            (&[0x0f, 0x01, 0x18], "lidt"),
            (&[0x0f, 0x01, 0x38], "invlpg"),
            (&[0xcd, 0x80], "int"),
            (&[0x48, 0x0f, 0x01, 0x38], "invlpg"),
            (&[0x66, 0xef], "out"),
        ];
        for (bytes, name) in cases {
            assert_eq!(privileged_mnemonic(bytes), Some(*name), "{bytes:x?}");
        }
    }

    #[test]
    fn ordinary_or_truncated_code_is_not_named() {
        assert_eq!(privileged_mnemonic(&[0x90]), None);
        assert_eq!(privileged_mnemonic(&[0x0f]), None);
        assert_eq!(privileged_mnemonic(&[0x48, 0x48]), None);
        assert_eq!(privileged_mnemonic(&[]), None);
        assert_eq!(privileged_mnemonic(&[0x0f, 0x01, 0x00]), None);
    }
}
