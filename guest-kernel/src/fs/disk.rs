//! The byte-addressed disk the file-system code sees: a small reading
//! trait, [`ReadAt`], and [`VirtualDisk`], which implements it and the
//! `ext2` crate's [`BlockDevice`] (reads, writes and the flush) over the
//! block frontend.
//!
//! Every read is checked against the end of the disk before a request is
//! made, so a block number taken from a damaged structure becomes a
//! [`DiskError::BeyondEnd`] naming the offset, never a request the backend
//! must refuse. Writes must be whole sectors (the filesystem writes whole
//! blocks). [`Ext4Reader`] adapts any [`ReadAt`] to the `ext4-view`
//! crate's reader trait.

use alloc::boxed::Box;
use core::fmt;

use ext2::BlockDevice;

use crate::drivers::block;
use crate::memory::{frames, phys_to_virt};

/// Bytes moved per block request (one frame).
const CHUNK: u64 = 4096;

/// Why a read, write or flush of the disk failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskError {
    /// `len` bytes at `offset` do not lie inside the disk of `size` bytes.
    BeyondEnd { offset: u64, len: u64, size: u64 },
    /// The block device answered a read with an error.
    Device { sector: u64 },
    /// The block device answered a write with an error.
    Write { sector: u64 },
    /// The block device answered a flush with an error.
    Flush,
    /// A write of `len` bytes at byte `offset` is not whole sectors.
    Unaligned { offset: u64, len: u64 },
    /// No frame could be had for the transfer buffer.
    NoMemory,
}

impl fmt::Display for DiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BeyondEnd { offset, len, size } => write!(
                f,
                "read of {len} bytes at byte {offset} lies beyond the end of the disk ({size} bytes)"
            ),
            Self::Device { sector } => write!(f, "the disk failed a read at sector {sector}"),
            Self::Write { sector } => write!(f, "the disk failed a write at sector {sector}"),
            Self::Flush => write!(f, "the disk failed a flush"),
            Self::Unaligned { offset, len } => {
                write!(
                    f,
                    "write of {len} bytes at byte {offset} is not whole sectors"
                )
            }
            Self::NoMemory => write!(f, "no memory for a transfer buffer"),
        }
    }
}

impl core::error::Error for DiskError {}

/// Something that can be read at any byte offset.
pub trait ReadAt {
    /// Size in bytes.
    fn size(&self) -> u64;
    /// Fills `out` from byte `offset`; fails unless all of it lies inside.
    fn read_at(&mut self, offset: u64, out: &mut [u8]) -> Result<(), DiskError>;
}

/// The domain's virtual disk, read through the block frontend one frame
/// at a time.
pub struct VirtualDisk {
    sectors: u64,
    /// Transfer buffer (guest-physical frame).
    scratch: u64,
}

impl VirtualDisk {
    /// The disk of `sectors` sectors the block driver was set up for.
    pub fn new(sectors: u64) -> Result<Self, DiskError> {
        let scratch = frames::allocate().ok_or(DiskError::NoMemory)?;
        Ok(Self { sectors, scratch })
    }
}

impl Drop for VirtualDisk {
    fn drop(&mut self) {
        frames::free(self.scratch);
    }
}

impl ReadAt for VirtualDisk {
    fn size(&self) -> u64 {
        self.sectors * block::SECTOR
    }

    fn read_at(&mut self, offset: u64, out: &mut [u8]) -> Result<(), DiskError> {
        self.check(offset, out.len() as u64)?;
        let mut done = 0usize;
        while done < out.len() {
            let at = offset + done as u64;
            let sector = at / block::SECTOR;
            let skip = (at % block::SECTOR) as usize;
            let want = (out.len() - done).min(CHUNK as usize - skip);
            let span = (skip + want)
                .next_multiple_of(block::SECTOR as usize)
                .min(CHUNK as usize);
            block::read(sector, self.scratch, span as u32)
                .map_err(|_| DiskError::Device { sector })?;
            // SAFETY: the scratch frame is this reader's alone, mapped at
            // the physical-memory offset; `span` is at most one frame.
            let data = unsafe { core::slice::from_raw_parts(phys_to_virt(self.scratch), span) };
            out[done..done + want].copy_from_slice(&data[skip..skip + want]);
            done += want;
        }
        Ok(())
    }
}

impl VirtualDisk {
    fn check(&self, offset: u64, len: u64) -> Result<(), DiskError> {
        let size = ReadAt::size(self);
        match offset.checked_add(len) {
            Some(end) if end <= size => Ok(()),
            _ => Err(DiskError::BeyondEnd { offset, len, size }),
        }
    }
}

impl BlockDevice for VirtualDisk {
    type Error = DiskError;

    fn size(&self) -> u64 {
        ReadAt::size(self)
    }

    fn read(&mut self, offset: u64, out: &mut [u8]) -> Result<(), DiskError> {
        self.read_at(offset, out)
    }

    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        let len = data.len() as u64;
        self.check(offset, len)?;
        if !offset.is_multiple_of(block::SECTOR) || !len.is_multiple_of(block::SECTOR) {
            return Err(DiskError::Unaligned { offset, len });
        }
        for (index, piece) in data.chunks(CHUNK as usize).enumerate() {
            let sector = (offset + index as u64 * CHUNK) / block::SECTOR;
            // SAFETY: the scratch frame is this disk's alone, mapped at the
            // physical-memory offset; a piece is at most one frame.
            let frame =
                unsafe { core::slice::from_raw_parts_mut(phys_to_virt(self.scratch), piece.len()) };
            frame.copy_from_slice(piece);
            block::write(sector, self.scratch, piece.len() as u32)
                .map_err(|_| DiskError::Write { sector })?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DiskError> {
        block::flush().map_err(|_| DiskError::Flush)
    }
}

/// Adapts a [`ReadAt`] to `ext4_view::Ext4Read`.
pub struct Ext4Reader<R>(pub R);

impl<R: ReadAt> ext4_view::Ext4Read for Ext4Reader<R> {
    fn read(
        &mut self,
        start_byte: u64,
        dst: &mut [u8],
    ) -> Result<(), Box<dyn core::error::Error + Send + Sync + 'static>> {
        self.0
            .read_at(start_byte, dst)
            .map_err(|error| error.into())
    }
}
