//! The guest bundle: how guest images reach the hypervisor.
//!
//! The bundle is the hypervisor's boot module (QEMU `-initrd`). It is a small
//! table of contents followed by the images, all integers little-endian.
//! Version 2 (ABI 1.5) is written by the tools; version 1 is still read.
//!
//! ```text
//! offset 0   magic      8 bytes  "PVBUNDL2" (version 1: "PVBUNDL1")
//!        8   count      u32      number of entries (at most MAX_ENTRIES)
//!       12   reserved   u32      0
//!       16   entries    count x 160 bytes (version 1: 128 bytes, up to +128):
//!              +0   name         [u8; 32]  domain name, NUL-padded UTF-8
//!              +32  args         [u8; 80]  argument string, NUL-padded UTF-8
//!              +112 offset       u64       image start, from the bundle's start
//!              +120 size         u64       image length in bytes
//!              +128 memory       u64       the domain's memory in bytes;
//!                                          0: the `dom_mem` default
//!              +136 disk_first   u64       first sector of the domain's disk
//!              +144 disk_sectors u64       sectors of the domain's disk;
//!                                          0: the `dom_disk` default region
//!              +152 flags        u64       bit 0 (FLAG_NO_DISK): the
//!                                          domain has no disk at all;
//!                                          bits 1-2 (FLAG_MODE_MASK): its
//!                                          execution mode (ABI 1.7; 0 in
//!                                          older bundles: paravirtual);
//!                                          bit 3 (FLAG_DRIVER, ABI 1.9):
//!                                          the driver domain, given the
//!                                          physical disk (at most one
//!                                          entry may set it)
//!                                          bit 4 (FLAG_RESTART, ABI 1.9):
//!                                          restart the domain when the
//!                                          hypervisor stops it
//!       ...  images     ELF files, each starting at its entry's offset
//! ```
//!
//! A bad header, or more than one entry with [`FLAG_DRIVER`]
//! ([`BundleError::TwoDrivers`]), rejects the whole bundle; a bad entry (range outside the
//! bundle, empty name, unknown mode) rejects only that entry, so the other domains still
//! start. Whether a memory size is acceptable is the hypervisor's decision
//! (`cmdline::MIN_DOMAIN_MEMORY` to `MAX_DOMAIN_MEMORY`).

use crate::emulation::Mode;
use crate::start_info::{ARGS_LEN, NAME_LEN, padded_str};

/// First eight bytes of every bundle the tools write (version 2).
pub const MAGIC: [u8; 8] = *b"PVBUNDL2";
/// First eight bytes of a version 1 bundle (no memory size or disk region).
pub const MAGIC_V1: [u8; 8] = *b"PVBUNDL1";
/// Size of the header before the entry table.
pub const HEADER_LEN: usize = 16;
/// Size of one entry in the table.
pub const ENTRY_LEN: usize = 160;
/// Size of one entry in a version 1 table.
pub const ENTRY_LEN_V1: usize = 128;
/// Entry flag: the domain gets no disk (not even the default region).
pub const FLAG_NO_DISK: u64 = 1;
/// Entry flags: the domain's execution mode ([`Mode`] by number).
pub const FLAG_MODE_MASK: u64 = 0b110;
/// Where the mode starts in the flags.
pub const FLAG_MODE_SHIFT: u32 = 1;
/// Entry flag: the domain is the driver domain (it is given the physical
/// disk; it has no virtual disk of its own).
pub const FLAG_DRIVER: u64 = 1 << 3;
/// Entry flag: the hypervisor restarts the domain from its image when it
/// stops it (a fault it cannot deliver, an expired watchdog), up to
/// `MAX_RESTARTS` times.
pub const FLAG_RESTART: u64 = 1 << 4;
/// Most times a domain with [`FLAG_RESTART`] is restarted.
pub const MAX_RESTARTS: u32 = 3;
/// Most entries a bundle may hold.
pub const MAX_ENTRIES: u32 = 1024;

/// Why a bundle as a whole was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleError {
    /// Shorter than its header or its entry table.
    Truncated,
    /// Starts with neither [`MAGIC`] nor [`MAGIC_V1`].
    BadMagic,
    /// Claims more than [`MAX_ENTRIES`] entries.
    TooManyEntries(u32),
    /// Names more than one driver domain (the entries, by name).
    TwoDrivers,
}

impl core::fmt::Display for BundleError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BundleError::Truncated => write!(f, "bundle is truncated"),
            BundleError::BadMagic => write!(f, "bundle has a bad magic number"),
            BundleError::TooManyEntries(n) => {
                write!(f, "bundle claims {n} entries (at most {MAX_ENTRIES})")
            }
            BundleError::TwoDrivers => {
                write!(f, "bundle names more than one driver domain")
            }
        }
    }
}

/// Why one entry was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryError {
    /// The image range lies (partly) outside the bundle.
    RangeOutsideBundle,
    /// The name is empty.
    EmptyName,
    /// The flags name no execution mode.
    UnknownMode(u64),
    /// The driver domain asks for a mode other than paravirtual: its port
    /// accesses reach the real COM1, so no instruction of it may be served
    /// by emulation.
    DriverNotParavirtual,
}

impl core::fmt::Display for EntryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EntryError::RangeOutsideBundle => write!(f, "image lies outside the bundle"),
            EntryError::EmptyName => write!(f, "entry has an empty name"),
            EntryError::UnknownMode(number) => write!(f, "unknown execution mode {number}"),
            EntryError::DriverNotParavirtual => {
                write!(f, "the driver domain must run paravirtual")
            }
        }
    }
}

/// One guest image named by the bundle.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    /// The domain name.
    pub name: &'a str,
    /// The argument string.
    pub args: &'a str,
    /// The ELF image, or why it could not be located.
    pub image: Result<&'a [u8], EntryError>,
    /// The domain's memory in bytes, if the entry names one.
    pub memory: Option<u64>,
    /// The domain's disk region `(first sector, sectors)`, if the entry
    /// names one.
    pub disk: Option<(u64, u64)>,
    /// The entry says the domain has no disk.
    pub no_disk: bool,
    /// The domain's execution mode, or why the entry names none.
    pub mode: Result<Mode, EntryError>,
    /// The entry names the driver domain ([`FLAG_DRIVER`]).
    pub driver: bool,
    /// The entry asks for the domain to be restarted when stopped.
    pub restart: bool,
}

/// What an entry asks for beyond its name, arguments and image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EntryExtras {
    /// Memory in bytes (0: the hypervisor's default).
    pub memory: u64,
    /// First sector of the disk region.
    pub disk_first: u64,
    /// Sectors of the disk region (0: the hypervisor's default region).
    pub disk_sectors: u64,
    /// No disk at all ([`FLAG_NO_DISK`]).
    pub no_disk: bool,
    /// The execution mode ([`FLAG_MODE_MASK`]).
    pub mode: Mode,
    /// The driver domain ([`FLAG_DRIVER`]).
    pub driver: bool,
    /// Restart when stopped ([`FLAG_RESTART`]).
    pub restart: bool,
}

/// A parsed bundle header over the bundle's bytes.
#[derive(Clone, Copy, Debug)]
pub struct Bundle<'a> {
    bytes: &'a [u8],
    count: usize,
    entry_len: usize,
}

impl<'a> Bundle<'a> {
    /// Checks the header and that the entry table fits.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BundleError> {
        if bytes.len() < HEADER_LEN {
            return Err(BundleError::Truncated);
        }
        let entry_len = match bytes[..8].try_into() {
            Ok(MAGIC) => ENTRY_LEN,
            Ok(MAGIC_V1) => ENTRY_LEN_V1,
            _ => return Err(BundleError::BadMagic),
        };
        let count = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or([0; 4]));
        if count > MAX_ENTRIES {
            return Err(BundleError::TooManyEntries(count));
        }
        let count = count as usize;
        if bytes.len() < HEADER_LEN + count * entry_len {
            return Err(BundleError::Truncated);
        }
        let bundle = Self {
            bytes,
            count,
            entry_len,
        };
        bundle.check_drivers()?;
        Ok(bundle)
    }

    /// Refuses a bundle whose entries name more than one driver domain.
    fn check_drivers(&self) -> Result<(), BundleError> {
        match self.entries().filter(|entry| entry.driver).count() {
            0 | 1 => Ok(()),
            _ => Err(BundleError::TwoDrivers),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the bundle has no entries.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The entries in table order.
    pub fn entries(&self) -> impl Iterator<Item = Entry<'a>> + 'a {
        let (bytes, entry_len) = (self.bytes, self.entry_len);
        (0..self.count).map(move |index| {
            let start = HEADER_LEN + index * entry_len;
            let raw = &bytes[start..start + entry_len];
            let name = padded_str(&raw[..NAME_LEN]);
            let args = padded_str(&raw[NAME_LEN..NAME_LEN + ARGS_LEN]);
            let offset = read_u64(&raw[112..120]);
            let size = read_u64(&raw[120..128]);
            let image = if name.is_empty() {
                Err(EntryError::EmptyName)
            } else {
                offset
                    .checked_add(size)
                    .filter(|end| *end <= bytes.len() as u64)
                    .map(|end| &bytes[offset as usize..end as usize])
                    .ok_or(EntryError::RangeOutsideBundle)
            };
            let (memory, disk, flags) = if entry_len == ENTRY_LEN {
                let disk_sectors = read_u64(&raw[144..152]);
                let memory = Some(read_u64(&raw[128..136])).filter(|bytes| *bytes != 0);
                let disk =
                    Some((read_u64(&raw[136..144]), disk_sectors)).filter(|_| disk_sectors != 0);
                (memory, disk, read_u64(&raw[152..160]))
            } else {
                (None, None, 0)
            };
            let mode_number = (flags & FLAG_MODE_MASK) >> FLAG_MODE_SHIFT;
            let driver = flags & FLAG_DRIVER != 0;
            let mode = Mode::from_number(mode_number)
                .ok_or(EntryError::UnknownMode(mode_number))
                .and_then(|mode| match mode {
                    Mode::Paravirtual => Ok(mode),
                    _ if driver => Err(EntryError::DriverNotParavirtual),
                    _ => Ok(mode),
                });
            Entry {
                name,
                args,
                image,
                memory,
                disk,
                no_disk: flags & FLAG_NO_DISK != 0,
                mode,
                driver,
                restart: flags & FLAG_RESTART != 0,
            }
        })
    }
}

fn read_u64(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]))
}

/// Encodes the header for `count` entries.
pub fn encode_header(count: u32) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(&MAGIC);
    header[8..12].copy_from_slice(&count.to_le_bytes());
    header
}

/// Encodes one table entry. Names and arguments longer than their fields are
/// refused (`None`) rather than silently cut.
pub fn encode_entry(
    name: &str,
    args: &str,
    offset: u64,
    size: u64,
    extras: EntryExtras,
) -> Option<[u8; ENTRY_LEN]> {
    if name.len() > NAME_LEN || args.len() > ARGS_LEN {
        return None;
    }
    let mut entry = [0u8; ENTRY_LEN];
    entry[..name.len()].copy_from_slice(name.as_bytes());
    entry[NAME_LEN..NAME_LEN + args.len()].copy_from_slice(args.as_bytes());
    entry[112..120].copy_from_slice(&offset.to_le_bytes());
    entry[120..128].copy_from_slice(&size.to_le_bytes());
    entry[128..136].copy_from_slice(&extras.memory.to_le_bytes());
    entry[136..144].copy_from_slice(&extras.disk_first.to_le_bytes());
    entry[144..152].copy_from_slice(&extras.disk_sectors.to_le_bytes());
    let no_disk = if extras.no_disk { FLAG_NO_DISK } else { 0 };
    let driver = if extras.driver { FLAG_DRIVER } else { 0 };
    let restart = if extras.restart { FLAG_RESTART } else { 0 };
    let flags = no_disk | driver | restart | (extras.mode as u64) << FLAG_MODE_SHIFT;
    entry[152..160].copy_from_slice(&flags.to_le_bytes());
    Some(entry)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn bundle(entries: &[(&str, &str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::from(encode_header(entries.len() as u32));
        let mut offset = (HEADER_LEN + entries.len() * ENTRY_LEN) as u64;
        for (name, args, image) in entries {
            let extras = EntryExtras::default();
            out.extend(encode_entry(name, args, offset, image.len() as u64, extras).unwrap());
            offset += image.len() as u64;
        }
        for (_, _, image) in entries {
            out.extend_from_slice(image);
        }
        out
    }

    #[test]
    fn round_trips_entries() {
        let bytes = bundle(&[("alpha", "x=1", b"ELF-A"), ("beta", "", b"ELF-BB")]);
        let parsed = Bundle::parse(&bytes).unwrap();
        let entries: Vec<_> = parsed.entries().collect();
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[0].name, entries[0].args), ("alpha", "x=1"));
        assert_eq!(entries[0].image, Ok(&b"ELF-A"[..]));
        assert_eq!(entries[1].image, Ok(&b"ELF-BB"[..]));
        assert_eq!((entries[0].memory, entries[0].disk), (None, None));
    }

    #[test]
    fn carries_memory_and_disk_region() {
        let extras = EntryExtras {
            memory: 4 << 20,
            disk_first: 16,
            disk_sectors: 8,
            no_disk: false,
            mode: Mode::Patch,
            driver: false,
            restart: true,
        };
        let mut bytes = Vec::from(encode_header(1));
        let offset = (HEADER_LEN + ENTRY_LEN) as u64;
        bytes.extend(encode_entry("a", "", offset, 2, extras).unwrap());
        bytes.extend_from_slice(b"EL");
        let entry = Bundle::parse(&bytes).unwrap().entries().next().unwrap();
        assert_eq!(entry.memory, Some(4 << 20));
        assert_eq!(entry.disk, Some((16, 8)));
        assert_eq!(entry.image, Ok(&b"EL"[..]));
        assert!(!entry.no_disk);
        assert_eq!(entry.mode, Ok(Mode::Patch));
        assert!(entry.restart);
        let none = EntryExtras {
            no_disk: true,
            ..EntryExtras::default()
        };
        bytes[HEADER_LEN..HEADER_LEN + ENTRY_LEN]
            .copy_from_slice(&encode_entry("a", "", offset, 2, none).unwrap());
        let entry = Bundle::parse(&bytes).unwrap().entries().next().unwrap();
        assert!(entry.no_disk && entry.disk.is_none());
        assert_eq!(entry.mode, Ok(Mode::Paravirtual));
        assert!(!entry.restart);
    }

    #[test]
    fn a_driver_domain_under_emulation_rejects_only_its_entry() {
        let mut bytes = bundle(&[("a", "", b"one"), ("b", "", b"two")]);
        let flags = HEADER_LEN + 152;
        let emulated_driver = FLAG_DRIVER | (Mode::Emulate as u64) << FLAG_MODE_SHIFT;
        bytes[flags..flags + 8].copy_from_slice(&emulated_driver.to_le_bytes());
        let entries: Vec<_> = Bundle::parse(&bytes).unwrap().entries().collect();
        assert_eq!(entries[0].mode, Err(EntryError::DriverNotParavirtual));
        assert_eq!(entries[1].mode, Ok(Mode::Paravirtual));
    }

    #[test]
    fn an_unknown_mode_rejects_only_its_entry() {
        let mut bytes = bundle(&[("a", "", b"one"), ("b", "", b"two")]);
        let flags = HEADER_LEN + 152;
        bytes[flags..flags + 8].copy_from_slice(&(3u64 << FLAG_MODE_SHIFT).to_le_bytes());
        let entries: Vec<_> = Bundle::parse(&bytes).unwrap().entries().collect();
        assert_eq!(entries[0].mode, Err(EntryError::UnknownMode(3)));
        assert_eq!(entries[1].mode, Ok(Mode::Paravirtual));
        assert!(!entries[0].no_disk);
    }

    #[test]
    fn reads_version_1() {
        let mut bytes = Vec::from(encode_header(1));
        bytes[..8].copy_from_slice(&MAGIC_V1);
        let offset = (HEADER_LEN + ENTRY_LEN_V1) as u64;
        let entry = encode_entry("old", "x", offset, 3, EntryExtras::default()).unwrap();
        bytes.extend_from_slice(&entry[..ENTRY_LEN_V1]);
        bytes.extend_from_slice(b"ELF");
        let entry = Bundle::parse(&bytes).unwrap().entries().next().unwrap();
        assert_eq!((entry.name, entry.args), ("old", "x"));
        assert_eq!(entry.image, Ok(&b"ELF"[..]));
        assert_eq!((entry.memory, entry.disk), (None, None));
        assert_eq!(entry.mode, Ok(Mode::Paravirtual));
    }

    #[test]
    fn rejects_bad_headers() {
        assert_eq!(Bundle::parse(b"short").unwrap_err(), BundleError::Truncated);
        let mut bytes = bundle(&[("a", "", b"x")]);
        bytes[0] = b'X';
        assert_eq!(Bundle::parse(&bytes).unwrap_err(), BundleError::BadMagic);
        let mut bytes = Vec::from(encode_header(MAX_ENTRIES + 1));
        bytes.resize(4096, 0);
        assert_eq!(
            Bundle::parse(&bytes).unwrap_err(),
            BundleError::TooManyEntries(MAX_ENTRIES + 1)
        );
        let bytes = Vec::from(encode_header(2));
        assert_eq!(Bundle::parse(&bytes).unwrap_err(), BundleError::Truncated);
    }

    #[test]
    fn a_bad_entry_does_not_hide_the_others() {
        let mut bytes = bundle(&[("a", "", b"one"), ("b", "", b"two")]);
        // Point entry 0 far past the end, with an offset+size that overflows.
        let start = HEADER_LEN;
        bytes[start + 112..start + 120].copy_from_slice(&u64::MAX.to_le_bytes());
        let entries: Vec<_> = Bundle::parse(&bytes).unwrap().entries().collect();
        assert_eq!(entries[0].image, Err(EntryError::RangeOutsideBundle));
        assert_eq!(entries[1].image, Ok(&b"two"[..]));
    }

    fn bundle_with(extras: &[EntryExtras]) -> Vec<u8> {
        let mut bytes = Vec::from(encode_header(extras.len() as u32));
        let offset = (HEADER_LEN + extras.len() * ENTRY_LEN) as u64;
        for (index, extras) in extras.iter().enumerate() {
            let name = ["a", "b", "c"][index];
            bytes.extend(encode_entry(name, "", offset, 2, *extras).unwrap());
        }
        bytes.extend_from_slice(b"EL");
        bytes
    }

    #[test]
    fn carries_the_driver_flag() {
        let driver = EntryExtras {
            driver: true,
            no_disk: true,
            ..EntryExtras::default()
        };
        let bytes = bundle_with(&[EntryExtras::default(), driver]);
        let flags = HEADER_LEN + ENTRY_LEN + 152;
        assert_eq!(
            read_u64(&bytes[flags..flags + 8]),
            FLAG_DRIVER | FLAG_NO_DISK
        );
        let entries: Vec<_> = Bundle::parse(&bytes).unwrap().entries().collect();
        assert!(!entries[0].driver);
        assert!(entries[1].driver && entries[1].no_disk);
        assert_eq!(entries[1].mode, Ok(Mode::Paravirtual));
    }

    #[test]
    fn rejects_two_driver_domains() {
        let driver = EntryExtras {
            driver: true,
            ..EntryExtras::default()
        };
        let bytes = bundle_with(&[driver, EntryExtras::default(), driver]);
        let error = Bundle::parse(&bytes).unwrap_err();
        assert_eq!(error, BundleError::TwoDrivers);
        assert_eq!(
            std::format!("{error}"),
            "bundle names more than one driver domain"
        );
    }

    #[test]
    fn refuses_to_encode_overlong_fields() {
        let extras = EntryExtras::default();
        assert!(encode_entry(&"n".repeat(33), "", 0, 0, extras).is_none());
        assert!(encode_entry("n", &"a".repeat(81), 0, 0, extras).is_none());
    }
}
