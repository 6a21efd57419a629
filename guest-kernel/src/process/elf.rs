//! The ELF files the loader accepts: static, non-relocatable x86_64
//! executables whose loadable segments lie in user space. Everything is
//! read from the file's bytes with bounds checks; a file that is not such
//! an executable is [`Error::NotExecutable`].

use alloc::vec::Vec;

use shared_abi::syscall::Error;

use super::{IMAGE_TOP, USER_BASE};

/// One loadable segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Where it starts in user space.
    pub address: u64,
    /// Bytes in memory (the part past the file's bytes is zero).
    pub memory_size: u64,
    /// Where its bytes start in the file.
    pub file_offset: u64,
    /// Bytes taken from the file.
    pub file_size: u64,
    pub writable: bool,
    pub executable: bool,
}

/// What the loader needs from an executable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Executable {
    pub entry: u64,
    pub segments: Vec<Segment>,
}

const PT_LOAD: u32 = 1;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const MAX_SEGMENTS: usize = 16;

fn bytes<const N: usize>(file: &[u8], at: u64) -> Result<[u8; N], Error> {
    let start = usize::try_from(at).map_err(|_| Error::NotExecutable)?;
    file.get(start..start.checked_add(N).ok_or(Error::NotExecutable)?)
        .and_then(|slice| slice.try_into().ok())
        .ok_or(Error::NotExecutable)
}

fn u16_at(file: &[u8], at: u64) -> Result<u16, Error> {
    bytes::<2>(file, at).map(u16::from_le_bytes)
}

fn u32_at(file: &[u8], at: u64) -> Result<u32, Error> {
    bytes::<4>(file, at).map(u32::from_le_bytes)
}

fn u64_at(file: &[u8], at: u64) -> Result<u64, Error> {
    bytes::<8>(file, at).map(u64::from_le_bytes)
}

/// Checks `file` and reads its entry point and loadable segments.
pub fn parse(file: &[u8]) -> Result<Executable, Error> {
    let ident = bytes::<8>(file, 0)?;
    // Magic, 64-bit, little-endian, version 1.
    if ident[..4] != *b"\x7fELF" || ident[4] != 2 || ident[5] != 1 || ident[6] != 1 {
        return Err(Error::NotExecutable);
    }
    // ET_EXEC for x86_64 (a PIE or a relocatable object is refused).
    if u16_at(file, 16)? != 2 || u16_at(file, 18)? != 0x3e {
        return Err(Error::NotExecutable);
    }
    let entry = u64_at(file, 24)?;
    let header_offset = u64_at(file, 32)?;
    let header_size = u64::from(u16_at(file, 54)?);
    let count = usize::from(u16_at(file, 56)?);
    if header_size < 56 || count > 64 {
        return Err(Error::NotExecutable);
    }
    let mut segments = Vec::new();
    for index in 0..count as u64 {
        let at = header_offset
            .checked_add(index * header_size)
            .ok_or(Error::NotExecutable)?;
        if u32_at(file, at)? != PT_LOAD {
            continue;
        }
        let flags = u32_at(file, at + 4)?;
        let segment = Segment {
            file_offset: u64_at(file, at + 8)?,
            address: u64_at(file, at + 16)?,
            file_size: u64_at(file, at + 32)?,
            memory_size: u64_at(file, at + 40)?,
            writable: flags & PF_W != 0,
            executable: flags & PF_X != 0,
        };
        check(file, &segment)?;
        segments.push(segment);
    }
    let runs = |s: &Segment| (s.address..s.address + s.memory_size).contains(&entry);
    let entry_ok = segments.iter().any(|s| s.executable && runs(s));
    if segments.is_empty() || segments.len() > MAX_SEGMENTS || !entry_ok {
        return Err(Error::NotExecutable);
    }
    Ok(Executable { entry, segments })
}

/// A segment must lie in user space below the stack and its guard page
/// ([`IMAGE_TOP`]), and its file bytes in the file.
fn check(file: &[u8], segment: &Segment) -> Result<(), Error> {
    let end = segment.address.checked_add(segment.memory_size);
    let file_end = segment.file_offset.checked_add(segment.file_size);
    let inside = end.is_some_and(|end| segment.address >= USER_BASE && end <= IMAGE_TOP);
    let in_file = file_end.is_some_and(|end| end <= file.len() as u64);
    match inside && in_file && segment.file_size <= segment.memory_size {
        true => Ok(()),
        false => Err(Error::NotExecutable),
    }
}
