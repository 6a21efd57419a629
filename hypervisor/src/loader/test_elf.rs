//! A builder of small ELF64 guest images for host tests of validation and
//! loading.

extern crate std;
use bootloader_api::BootloaderConfig;
use std::vec::Vec;

/// A loadable segment to put in the image: address, memory size, file
/// bytes, flags (PF_R = 4, PF_W = 2, PF_X = 1).
pub struct TestSegment {
    pub vaddr: u64,
    pub mem_size: u64,
    pub data: Vec<u8>,
    pub flags: u32,
}

/// Builds an x86_64 ET_EXEC image with `segments`, `entry`, and (if
/// `config` is given) a `.bootloader-config` section.
pub fn build(segments: &[TestSegment], entry: u64, config: Option<&BootloaderConfig>) -> Vec<u8> {
    let phoff = 64u64;
    let mut data_offset = phoff + 56 * segments.len() as u64;
    let mut out = std::vec![0u8; data_offset as usize];
    let mut phdrs = Vec::new();
    for segment in segments {
        phdrs.push((segment, data_offset));
        out.extend_from_slice(&segment.data);
        data_offset += segment.data.len() as u64;
    }
    let config_offset = out.len() as u64;
    let config_bytes = config.map(|c| c.serialize().to_vec()).unwrap_or_default();
    out.extend_from_slice(&config_bytes);
    let strtab_offset = out.len() as u64;
    let strtab = b"\0.bootloader-config\0.shstrtab\0";
    out.extend_from_slice(strtab);
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let shoff = out.len() as u64;
    let mut sections: Vec<[u8; 64]> = std::vec![[0; 64]];
    if config.is_some() {
        sections.push(section(1, 1, config_offset, config_bytes.len() as u64));
    }
    sections.push(section(20, 3, strtab_offset, strtab.len() as u64));
    for s in &sections {
        out.extend_from_slice(s);
    }

    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 2; // ELFCLASS64
    out[5] = 1; // little-endian
    out[6] = 1; // EV_CURRENT
    put(&mut out, 16, &2u16.to_le_bytes()); // ET_EXEC
    put(&mut out, 18, &62u16.to_le_bytes()); // EM_X86_64
    put(&mut out, 20, &1u32.to_le_bytes());
    put(&mut out, 24, &entry.to_le_bytes());
    put(&mut out, 32, &phoff.to_le_bytes());
    put(&mut out, 40, &shoff.to_le_bytes());
    put(&mut out, 52, &64u16.to_le_bytes());
    put(&mut out, 54, &56u16.to_le_bytes());
    put(&mut out, 56, &(segments.len() as u16).to_le_bytes());
    put(&mut out, 58, &64u16.to_le_bytes());
    put(&mut out, 60, &(sections.len() as u16).to_le_bytes());
    put(&mut out, 62, &(sections.len() as u16 - 1).to_le_bytes());
    for (index, (segment, offset)) in phdrs.iter().enumerate() {
        let base = (phoff + 56 * index as u64) as usize;
        put(&mut out, base, &1u32.to_le_bytes()); // PT_LOAD
        put(&mut out, base + 4, &segment.flags.to_le_bytes());
        put(&mut out, base + 8, &offset.to_le_bytes());
        put(&mut out, base + 16, &segment.vaddr.to_le_bytes());
        put(&mut out, base + 24, &segment.vaddr.to_le_bytes());
        put(
            &mut out,
            base + 32,
            &(segment.data.len() as u64).to_le_bytes(),
        );
        put(&mut out, base + 40, &segment.mem_size.to_le_bytes());
        put(&mut out, base + 48, &0x1000u64.to_le_bytes());
    }
    out
}

fn section(name: u32, kind: u32, offset: u64, size: u64) -> [u8; 64] {
    let mut header = [0u8; 64];
    put(&mut header, 0, &name.to_le_bytes());
    put(&mut header, 4, &kind.to_le_bytes());
    put(&mut header, 24, &offset.to_le_bytes());
    put(&mut header, 32, &size.to_le_bytes());
    put(&mut header, 48, &1u64.to_le_bytes());
    header
}

fn put(out: &mut [u8], at: usize, bytes: &[u8]) {
    out[at..at + bytes.len()].copy_from_slice(bytes);
}

/// A typical two-segment image: code at 0x20_1000, data+bss at 0x20_3000.
pub fn typical(config: &BootloaderConfig) -> Vec<u8> {
    build(
        &[
            TestSegment {
                vaddr: 0x20_1000,
                mem_size: 0x1800,
                data: std::vec![0xc3; 0x1800],
                flags: 5,
            },
            TestSegment {
                vaddr: 0x20_3000,
                mem_size: 0x3000,
                data: std::vec![0xaa; 0x10],
                flags: 6,
            },
        ],
        0x20_1000,
        Some(config),
    )
}
