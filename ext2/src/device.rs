//! The disk under a filesystem: [`BlockDevice`], byte-addressed reads and
//! writes and a flush, and [`MemoryDevice`], a disk held in memory (the
//! host tests mount `mke2fs` images with it).
//!
//! Offsets and lengths the filesystem passes are whole filesystem blocks,
//! so always multiples of 512; an implementation may refuse anything else.

use alloc::vec::Vec;
use core::fmt;

/// A disk the filesystem reads and writes.
pub trait BlockDevice {
    /// What a failed request reports (printed into [`crate::Error::Device`]).
    type Error: fmt::Display;
    /// Size in bytes.
    fn size(&self) -> u64;
    /// Fills `out` from byte `offset`.
    fn read(&mut self, offset: u64, out: &mut [u8]) -> Result<(), Self::Error>;
    /// Writes `data` at byte `offset` (durable after [`BlockDevice::flush`]).
    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), Self::Error>;
    /// Makes every completed write durable.
    fn flush(&mut self) -> Result<(), Self::Error>;
}

/// A disk in memory; counts flushes so tests can see them.
#[derive(Clone, Debug, Default)]
pub struct MemoryDevice {
    pub bytes: Vec<u8>,
    pub flushes: usize,
    pub writes: usize,
}

impl MemoryDevice {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            flushes: 0,
            writes: 0,
        }
    }

    fn range(&self, offset: u64, len: usize) -> Result<core::ops::Range<usize>, OutOfRange> {
        let start = usize::try_from(offset).map_err(|_| OutOfRange(offset))?;
        match start.checked_add(len) {
            Some(end) if end <= self.bytes.len() => Ok(start..end),
            _ => Err(OutOfRange(offset)),
        }
    }
}

/// A request beyond the end of a [`MemoryDevice`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange(pub u64);

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request at byte {} lies beyond the disk", self.0)
    }
}

impl BlockDevice for MemoryDevice {
    type Error = OutOfRange;

    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read(&mut self, offset: u64, out: &mut [u8]) -> Result<(), OutOfRange> {
        let range = self.range(offset, out.len())?;
        out.copy_from_slice(&self.bytes[range]);
        Ok(())
    }

    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), OutOfRange> {
        let range = self.range(offset, data.len())?;
        self.bytes[range].copy_from_slice(data);
        self.writes += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutOfRange> {
        self.flushes += 1;
        Ok(())
    }
}
