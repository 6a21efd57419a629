//! The byte-addressed reader the file-system code sees: a small trait,
//! [`ReadAt`], and its implementation over the block frontend.
//!
//! Every read is checked against the end of the disk before a request is
//! made, so a block number taken from a damaged structure becomes a
//! [`DiskError::BeyondEnd`] naming the offset, never a request the backend
//! must refuse. [`Ext4Reader`] adapts any [`ReadAt`] to the `ext4-view`
//! crate's reader trait.

use alloc::boxed::Box;
use core::fmt;

use crate::drivers::block;
use crate::memory::{frames, phys_to_virt};

/// Bytes moved per block request (one frame).
const CHUNK: u64 = 4096;

/// Why a read of the disk failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskError {
    /// `len` bytes at `offset` do not lie inside the disk of `size` bytes.
    BeyondEnd { offset: u64, len: u64, size: u64 },
    /// The block device answered a read with an error.
    Device { sector: u64 },
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
        let len = out.len() as u64;
        let size = self.size();
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(DiskError::BeyondEnd { offset, len, size });
        }
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
