//! Validation of a guest kernel ELF image before anything is loaded.
//!
//! A guest image must be a little-endian ELF64 x86_64 executable (`ET_EXEC`,
//! linked at fixed addresses), whose loadable segments lie in the lower half,
//! do not overlap, fit in the domain's memory, and whose entry point lies in
//! an executable segment. It must carry the `.bootloader-config` section that
//! `bootloader_api::entry_point!` emits. Every rejection names what is wrong,
//! and nothing here touches guest memory.

use alloc::vec::Vec;
use bootloader_api::BootloaderConfig;
use core::fmt;
use elf::ElfBytes;
use elf::abi;
use elf::endian::LittleEndian;

use crate::mm::address::{PAGE_SIZE, align_down, align_up, is_guest_address};

/// Most loadable segments an image may have.
pub const MAX_SEGMENTS: usize = 16;

/// A loadable segment, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Guest-virtual start.
    pub vaddr: u64,
    /// Bytes in memory (file bytes followed by zeros).
    pub mem_size: u64,
    /// Offset of the file bytes in the image.
    pub file_offset: u64,
    /// Bytes taken from the file.
    pub file_size: u64,
    /// Writable.
    pub writable: bool,
    /// Executable.
    pub executable: bool,
}

impl Segment {
    /// The page-aligned virtual range the segment covers.
    pub fn page_range(&self) -> core::ops::Range<u64> {
        let start = align_down(self.vaddr, PAGE_SIZE);
        // Validation guarantees vaddr + mem_size does not overflow the lower half.
        let end = align_up(self.vaddr + self.mem_size, PAGE_SIZE).unwrap_or(u64::MAX);
        start..end
    }
}

/// A validated image.
#[derive(Debug)]
pub struct GuestImage<'a> {
    /// The raw bytes.
    pub bytes: &'a [u8],
    /// Entry point (guest-virtual).
    pub entry: u64,
    /// Loadable segments in address order.
    pub segments: Vec<Segment>,
    /// What the kernel asked of its bootloader.
    pub config: BootloaderConfig,
}

impl GuestImage<'_> {
    /// Bytes of memory the segments occupy, in whole pages.
    pub fn footprint(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| s.page_range().end - s.page_range().start)
            .sum()
    }
}

/// Why an image was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// The first bytes are not `\x7fELF`.
    BadMagic,
    /// Not ELF64 little-endian.
    WrongClass,
    /// Built for another machine.
    WrongMachine(u16),
    /// Not an `ET_EXEC` executable.
    NotExecutable(u16),
    /// The ELF structure is damaged (truncated, bad offsets).
    Malformed(&'static str),
    /// No loadable segment.
    NoSegments,
    /// More than [`MAX_SEGMENTS`] loadable segments.
    TooManySegments(usize),
    /// A segment's file range is outside the file, or file size exceeds memory size.
    BadSegmentFileRange(u64),
    /// A segment lies outside the guest-virtual lower half or wraps.
    SegmentOutsideGuestSpace(u64),
    /// Two segments overlap.
    OverlappingSegments(u64, u64),
    /// The segments need more memory than the domain has.
    TooLarge { needed: u64, available: u64 },
    /// The entry point is not inside an executable segment.
    EntryOutsideSegments(u64),
    /// No `.bootloader-config` section.
    MissingBootloaderConfig,
    /// The `.bootloader-config` section does not decode.
    BadBootloaderConfig(&'static str),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::BadMagic => write!(f, "not an ELF file (bad magic)"),
            ImageError::WrongClass => write!(f, "not a 64-bit little-endian ELF file"),
            ImageError::WrongMachine(m) => {
                write!(f, "built for machine {m}, not x86_64 ({})", abi::EM_X86_64)
            }
            ImageError::NotExecutable(t) => write!(
                f,
                "ELF type {t} is not an executable (link guests with -C relocation-model=static)"
            ),
            ImageError::Malformed(what) => write!(f, "malformed ELF: {what}"),
            ImageError::NoSegments => write!(f, "no loadable segment"),
            ImageError::TooManySegments(n) => {
                write!(f, "{n} loadable segments (at most {MAX_SEGMENTS})")
            }
            ImageError::BadSegmentFileRange(v) => {
                write!(f, "segment at {v:#x} has file bytes outside the image")
            }
            ImageError::SegmentOutsideGuestSpace(v) => {
                write!(
                    f,
                    "segment at {v:#x} lies outside the guest's lower-half address space"
                )
            }
            ImageError::OverlappingSegments(a, b) => {
                write!(f, "segments at {a:#x} and {b:#x} overlap")
            }
            ImageError::TooLarge { needed, available } => write!(
                f,
                "segments need {} KiB but the domain has {} KiB (raise dom_mem)",
                needed / 1024,
                available / 1024
            ),
            ImageError::EntryOutsideSegments(e) => {
                write!(
                    f,
                    "entry point {e:#x} lies outside every executable segment"
                )
            }
            ImageError::MissingBootloaderConfig => write!(
                f,
                "no .bootloader-config section (declare the entry with bootloader_api::entry_point!)"
            ),
            ImageError::BadBootloaderConfig(why) => write!(f, "bad .bootloader-config: {why}"),
        }
    }
}

/// Checks `bytes` as a guest image for a domain with `memory_bytes` of memory.
pub fn validate(bytes: &[u8], memory_bytes: u64) -> Result<GuestImage<'_>, ImageError> {
    if bytes.len() < 4 || bytes[..4] != abi::ELFMAGIC {
        return Err(ImageError::BadMagic);
    }
    if bytes.get(abi::EI_CLASS) != Some(&abi::ELFCLASS64)
        || bytes.get(abi::EI_DATA) != Some(&abi::ELFDATA2LSB)
    {
        return Err(ImageError::WrongClass);
    }
    let file = ElfBytes::<LittleEndian>::minimal_parse(bytes).map_err(parse_error)?;
    if file.ehdr.e_machine != abi::EM_X86_64 {
        return Err(ImageError::WrongMachine(file.ehdr.e_machine));
    }
    if file.ehdr.e_type != abi::ET_EXEC {
        return Err(ImageError::NotExecutable(file.ehdr.e_type));
    }
    let table = file.segments().ok_or(ImageError::NoSegments)?;
    let mut segments = Vec::new();
    for header in table
        .iter()
        .filter(|h| h.p_type == abi::PT_LOAD && h.p_memsz > 0)
    {
        if segments.len() == MAX_SEGMENTS {
            return Err(ImageError::TooManySegments(
                table.iter().filter(|h| h.p_type == abi::PT_LOAD).count(),
            ));
        }
        let file_end = header.p_offset.checked_add(header.p_filesz);
        if header.p_filesz > header.p_memsz || file_end.is_none_or(|end| end > bytes.len() as u64) {
            return Err(ImageError::BadSegmentFileRange(header.p_vaddr));
        }
        let in_lower_half = header
            .p_vaddr
            .checked_add(header.p_memsz)
            .is_some_and(|end| {
                header.p_vaddr >= PAGE_SIZE
                    && is_guest_address(end - 1)
                    && align_up(end, PAGE_SIZE).is_some()
            });
        if !in_lower_half {
            return Err(ImageError::SegmentOutsideGuestSpace(header.p_vaddr));
        }
        segments.push(Segment {
            vaddr: header.p_vaddr,
            mem_size: header.p_memsz,
            file_offset: header.p_offset,
            file_size: header.p_filesz,
            writable: header.p_flags & abi::PF_W != 0,
            executable: header.p_flags & abi::PF_X != 0,
        });
    }
    if segments.is_empty() {
        return Err(ImageError::NoSegments);
    }
    segments.sort_by_key(|s| s.vaddr);
    for pair in segments.windows(2) {
        if pair[0].vaddr + pair[0].mem_size > pair[1].vaddr {
            return Err(ImageError::OverlappingSegments(
                pair[0].vaddr,
                pair[1].vaddr,
            ));
        }
    }
    let entry = file.ehdr.e_entry;
    let entry_ok = segments
        .iter()
        .any(|s| s.executable && (s.vaddr..s.vaddr + s.mem_size).contains(&entry));
    if !entry_ok {
        return Err(ImageError::EntryOutsideSegments(entry));
    }
    let config = bootloader_config(&file)?;
    let image = GuestImage {
        bytes,
        entry,
        segments,
        config,
    };
    let needed = image.footprint();
    if needed > memory_bytes {
        return Err(ImageError::TooLarge {
            needed,
            available: memory_bytes,
        });
    }
    Ok(image)
}

fn bootloader_config(file: &ElfBytes<'_, LittleEndian>) -> Result<BootloaderConfig, ImageError> {
    let header = file
        .section_header_by_name(".bootloader-config")
        .map_err(parse_error)?
        .ok_or(ImageError::MissingBootloaderConfig)?;
    let (data, compression) = file.section_data(&header).map_err(parse_error)?;
    if compression.is_some() {
        return Err(ImageError::BadBootloaderConfig("section is compressed"));
    }
    BootloaderConfig::deserialize(data).map_err(ImageError::BadBootloaderConfig)
}

fn parse_error(error: elf::ParseError) -> ImageError {
    use elf::ParseError as E;
    ImageError::Malformed(match error {
        E::BadMagic(_) => return ImageError::BadMagic,
        E::UnsupportedElfClass(_) | E::UnsupportedElfEndianness(_) => {
            return ImageError::WrongClass;
        }
        E::SliceReadError(_) => "truncated",
        E::BadOffset(_) => "offset out of range",
        E::IntegerOverflow => "size overflows",
        E::BadEntsize(_) => "unexpected table entry size",
        E::UnsupportedVersion(_) => "unsupported ELF version",
        E::StringTableMissingNul(_) | E::Utf8Error(_) => "bad string table",
        _ => "unexpected structure",
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::test_elf::{TestSegment, build, typical};
    use super::*;
    use std::vec;

    const MEMORY: u64 = 16 << 20;

    fn config() -> BootloaderConfig {
        BootloaderConfig::new_default()
    }

    #[test]
    fn accepts_a_typical_image() {
        let bytes = typical(&config());
        let image = validate(&bytes, MEMORY).unwrap();
        assert_eq!(image.entry, 0x20_1000);
        assert_eq!(image.segments.len(), 2);
        assert!(image.segments[0].executable && !image.segments[0].writable);
        assert_eq!(image.footprint(), 0x2000 + 0x3000);
    }

    #[test]
    fn rejects_header_damage() {
        let good = typical(&config());
        let mut bad = good.clone();
        bad[0] = b'X';
        assert_eq!(validate(&bad, MEMORY).unwrap_err(), ImageError::BadMagic);
        let mut bad = good.clone();
        bad[18] = 3;
        assert_eq!(
            validate(&bad, MEMORY).unwrap_err(),
            ImageError::WrongMachine(3)
        );
        let mut bad = good.clone();
        bad[4] = 1;
        assert_eq!(validate(&bad, MEMORY).unwrap_err(), ImageError::WrongClass);
        let mut bad = good.clone();
        bad[16] = 3;
        assert_eq!(
            validate(&bad, MEMORY).unwrap_err(),
            ImageError::NotExecutable(3)
        );
        assert!(matches!(
            validate(&good[..40], MEMORY),
            Err(ImageError::Malformed(_))
        ));
        assert_eq!(
            validate(b"\x7fEL", MEMORY).unwrap_err(),
            ImageError::BadMagic
        );
    }

    #[test]
    fn rejects_bad_segments() {
        let seg = |vaddr, mem_size, flags| TestSegment {
            vaddr,
            mem_size,
            data: vec![0; 16],
            flags,
        };
        let cfg = config();
        let overlap = build(
            &[seg(0x20_0000, 0x2000, 5), seg(0x20_1000, 0x1000, 6)],
            0x20_0000,
            Some(&cfg),
        );
        assert_eq!(
            validate(&overlap, MEMORY).unwrap_err(),
            ImageError::OverlappingSegments(0x20_0000, 0x20_1000)
        );
        let upper = build(
            &[seg(0xffff_8000_0000_0000, 0x1000, 5)],
            0xffff_8000_0000_0000,
            Some(&cfg),
        );
        assert!(matches!(
            validate(&upper, MEMORY),
            Err(ImageError::SegmentOutsideGuestSpace(_))
        ));
        let null_page = build(&[seg(0, 0x1000, 5)], 0, Some(&cfg));
        assert!(matches!(
            validate(&null_page, MEMORY),
            Err(ImageError::SegmentOutsideGuestSpace(0))
        ));
        let wraps = build(
            &[seg(0x7fff_ffff_f000, 0x2000, 5)],
            0x7fff_ffff_f000,
            Some(&cfg),
        );
        assert!(matches!(
            validate(&wraps, MEMORY),
            Err(ImageError::SegmentOutsideGuestSpace(_))
        ));
        let huge = build(&[seg(0x20_0000, 1 << 40, 5)], 0x20_0000, Some(&cfg));
        assert!(matches!(
            validate(&huge, MEMORY),
            Err(ImageError::TooLarge { .. })
        ));
        let mut file_past_end = build(&[seg(0x20_0000, 0x1000, 5)], 0x20_0000, Some(&cfg));
        file_past_end[64 + 8..64 + 16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(
            validate(&file_past_end, MEMORY).unwrap_err(),
            ImageError::BadSegmentFileRange(0x20_0000)
        );
        let none = build(&[], 0x20_0000, Some(&cfg));
        assert_eq!(validate(&none, MEMORY).unwrap_err(), ImageError::NoSegments);
    }

    #[test]
    fn entry_must_be_in_an_executable_segment() {
        let cfg = config();
        let data_entry = build(
            &[TestSegment {
                vaddr: 0x20_0000,
                mem_size: 0x1000,
                data: vec![0; 8],
                flags: 6,
            }],
            0x20_0000,
            Some(&cfg),
        );
        assert_eq!(
            validate(&data_entry, MEMORY).unwrap_err(),
            ImageError::EntryOutsideSegments(0x20_0000)
        );
    }

    #[test]
    fn requires_the_bootloader_config() {
        let segment = TestSegment {
            vaddr: 0x20_0000,
            mem_size: 0x1000,
            data: vec![0; 8],
            flags: 5,
        };
        let bytes = build(&[segment], 0x20_0000, None);
        assert_eq!(
            validate(&bytes, MEMORY).unwrap_err(),
            ImageError::MissingBootloaderConfig
        );
    }
}
