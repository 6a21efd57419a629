//! Deliberately broken copies of a guest ELF, for the malformed-image scenario.
//!
//! [`corrupt`] takes a valid ELF64 little-endian executable and damages one
//! thing the hypervisor's loader must check, working on raw header offsets so
//! that it does not depend on an ELF parser agreeing with the loader.

/// The damage to apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Corruption {
    /// First magic byte 0x7f replaced by `X`.
    BadMagic,
    /// `e_machine` set to 3 (i386).
    WrongMachine,
    /// `e_entry` set to 0x10, outside every segment.
    EntryOutside,
    /// The second PT_LOAD segment moved onto the first one's virtual address.
    OverlappingSegments,
    /// The last PT_LOAD segment's `p_memsz` set to 1 TiB (the last, so that
    /// it overlaps nothing and only its size is wrong).
    OversizedSegment,
    /// Only the first 40 bytes kept.
    Truncated,
    /// `EI_CLASS` set to ELFCLASS32.
    Class32,
    /// `e_type` set to ET_DYN (a position-independent executable).
    Pie,
    /// The last PT_LOAD segment's `p_memsz` set to 960 KiB: the segments
    /// fit in 1 MiB, but not with the stack and boot information.
    GrownSegment,
    /// The last PT_LOAD segment moved 32 KiB below 512 GiB, the top of the
    /// guest kernel's user space: onto a process's stack.
    SegmentOnStack,
}

const E_MACHINE: usize = 18;
const E_ENTRY: usize = 24;
const E_PHOFF: usize = 32;
const E_PHENTSIZE: usize = 54;
const E_PHNUM: usize = 56;
const P_TYPE: usize = 0;
const P_VADDR: usize = 16;
const P_MEMSZ: usize = 40;
const PT_LOAD: u32 = 1;
const EM_386: u16 = 3;
const TRUNCATED_LEN: usize = 40;
const EI_CLASS: usize = 4;
const E_TYPE: usize = 16;
const ET_DYN: u16 = 3;
const GROWN_MEMSZ: u64 = 960 << 10;
const ON_STACK: u64 = (512 << 30) - (32 << 10);

/// Returns a copy of `elf` with `kind` applied. Where `elf` lacks what the
/// corruption needs (e.g. a second PT_LOAD segment), the copy is unchanged,
/// so the image is then accepted and the scenario expecting its rejection
/// fails visibly.
pub fn corrupt(elf: &[u8], kind: Corruption) -> Vec<u8> {
    let mut out = elf.to_vec();
    match kind {
        Corruption::BadMagic => {
            if let Some(first) = out.first_mut() {
                *first = b'X';
            }
        }
        Corruption::WrongMachine => put(&mut out, E_MACHINE, &EM_386.to_le_bytes()),
        Corruption::EntryOutside => put(&mut out, E_ENTRY, &0x10u64.to_le_bytes()),
        Corruption::OverlappingSegments => {
            let loads = load_headers(elf);
            if let [first, second, ..] = loads[..] {
                let vaddr = read(elf, first + P_VADDR, 8);
                put(&mut out, second + P_VADDR, &vaddr.to_le_bytes());
            }
        }
        Corruption::OversizedSegment => {
            if let Some(&last) = load_headers(elf).last() {
                put(&mut out, last + P_MEMSZ, &(1u64 << 40).to_le_bytes());
            }
        }
        Corruption::Truncated => out.truncate(TRUNCATED_LEN),
        Corruption::Class32 => put(&mut out, EI_CLASS, &[1]),
        Corruption::Pie => put(&mut out, E_TYPE, &ET_DYN.to_le_bytes()),
        Corruption::GrownSegment => {
            if let Some(&last) = load_headers(elf).last() {
                put(&mut out, last + P_MEMSZ, &GROWN_MEMSZ.to_le_bytes());
            }
        }
        Corruption::SegmentOnStack => {
            if let Some(&last) = load_headers(elf).last() {
                put(&mut out, last + P_VADDR, &ON_STACK.to_le_bytes());
            }
        }
    }
    out
}

/// File offsets of the PT_LOAD program headers, in table order.
fn load_headers(elf: &[u8]) -> Vec<usize> {
    let phoff = read(elf, E_PHOFF, 8) as usize;
    let phentsize = read(elf, E_PHENTSIZE, 2) as usize;
    let phnum = read(elf, E_PHNUM, 2) as usize;
    (0..phnum)
        .map(|index| phoff.saturating_add(index.saturating_mul(phentsize)))
        .filter(|&header| header.saturating_add(phentsize) <= elf.len())
        .filter(|&header| read(elf, header + P_TYPE, 4) == u64::from(PT_LOAD))
        .collect()
}

/// Reads a little-endian integer of `len` bytes at `offset` (0 if out of range).
fn read(bytes: &[u8], offset: usize, len: usize) -> u64 {
    let Some(field) = bytes.get(offset..offset.saturating_add(len)) else {
        return 0;
    };
    field
        .iter()
        .rev()
        .fold(0, |value, byte| (value << 8) | u64::from(*byte))
}

/// Overwrites bytes at `offset`, ignoring writes past the end.
fn put(bytes: &mut [u8], offset: usize, value: &[u8]) {
    if let Some(field) = bytes.get_mut(offset..offset.saturating_add(value.len())) {
        field.copy_from_slice(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHOFF: usize = 64;
    const PHENTSIZE: usize = 56;

    /// A minimal ELF64 executable header with two PT_LOAD program headers at
    /// 0x40_0000 and 0x40_1000 (no contents: only the headers are examined).
    fn tiny_elf() -> Vec<u8> {
        let mut elf = vec![0u8; PHOFF + 2 * PHENTSIZE];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 2; // ELFCLASS64
        elf[5] = 1; // little-endian
        elf[6] = 1; // EV_CURRENT
        put(&mut elf, 16, &2u16.to_le_bytes()); // ET_EXEC
        put(&mut elf, E_MACHINE, &62u16.to_le_bytes()); // EM_X86_64
        put(&mut elf, 20, &1u32.to_le_bytes());
        put(&mut elf, E_ENTRY, &0x40_0000u64.to_le_bytes());
        put(&mut elf, E_PHOFF, &(PHOFF as u64).to_le_bytes());
        put(&mut elf, 52, &64u16.to_le_bytes()); // e_ehsize
        put(&mut elf, E_PHENTSIZE, &(PHENTSIZE as u16).to_le_bytes());
        put(&mut elf, E_PHNUM, &2u16.to_le_bytes());
        for (index, vaddr) in [0x40_0000u64, 0x40_1000].into_iter().enumerate() {
            let header = PHOFF + index * PHENTSIZE;
            put(&mut elf, header + P_TYPE, &PT_LOAD.to_le_bytes());
            put(&mut elf, header + 4, &5u32.to_le_bytes()); // R+X
            put(&mut elf, header + P_VADDR, &vaddr.to_le_bytes());
            put(&mut elf, header + 24, &vaddr.to_le_bytes());
            put(&mut elf, header + P_MEMSZ, &0x1000u64.to_le_bytes());
            put(&mut elf, header + 48, &0x1000u64.to_le_bytes());
        }
        elf
    }

    fn second_header() -> usize {
        PHOFF + PHENTSIZE
    }

    #[test]
    fn header_corruptions() {
        let elf = tiny_elf();
        assert_eq!(corrupt(&elf, Corruption::BadMagic)[0], b'X');
        assert_eq!(
            read(&corrupt(&elf, Corruption::WrongMachine), E_MACHINE, 2),
            3
        );
        assert_eq!(
            read(&corrupt(&elf, Corruption::EntryOutside), E_ENTRY, 8),
            0x10
        );
        assert_eq!(corrupt(&elf, Corruption::Truncated), elf[..40].to_vec());
    }

    #[test]
    fn segment_corruptions() {
        let elf = tiny_elf();
        assert_eq!(load_headers(&elf), [PHOFF, second_header()]);
        let overlap = corrupt(&elf, Corruption::OverlappingSegments);
        assert_eq!(read(&overlap, second_header() + P_VADDR, 8), 0x40_0000);
        assert_eq!(read(&overlap, PHOFF + P_VADDR, 8), 0x40_0000);
        let oversized = corrupt(&elf, Corruption::OversizedSegment);
        assert_eq!(read(&oversized, second_header() + P_MEMSZ, 8), 1 << 40);
        assert_ne!(read(&oversized, PHOFF + P_MEMSZ, 8), 1 << 40);
    }

    #[test]
    fn each_corruption_changes_only_what_it_names() {
        let elf = tiny_elf();
        let kinds = [
            Corruption::BadMagic,
            Corruption::WrongMachine,
            Corruption::EntryOutside,
            Corruption::OverlappingSegments,
            Corruption::OversizedSegment,
            Corruption::Class32,
            Corruption::Pie,
            Corruption::GrownSegment,
        ];
        for kind in kinds {
            let changed = corrupt(&elf, kind);
            assert_eq!(changed.len(), elf.len(), "{kind:?} changed the length");
            let differing = changed.iter().zip(&elf).filter(|(a, b)| a != b).count();
            assert!(
                (1..=8).contains(&differing),
                "{kind:?} changed {differing} bytes"
            );
        }
    }

    #[test]
    fn skips_non_load_headers_and_tolerates_short_input() {
        let mut elf = tiny_elf();
        put(&mut elf, PHOFF + P_TYPE, &4u32.to_le_bytes()); // PT_NOTE
        assert_eq!(load_headers(&elf), [second_header()]);
        assert_eq!(corrupt(&elf, Corruption::OverlappingSegments), elf);
        assert_eq!(corrupt(&[], Corruption::OversizedSegment), Vec::<u8>::new());
        assert_eq!(
            corrupt(b"\x7fE", Corruption::WrongMachine),
            b"\x7fE".to_vec()
        );
    }
}
