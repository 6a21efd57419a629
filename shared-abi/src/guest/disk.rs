//! Sector reads and writes on ordinary byte buffers: the
//! [`block`] frontend works on guest-physical buffers, so
//! these copy through a frame of their own, a page at a time.
//!
//! Order: [`block::init`] first. Each call waits for
//! its requests (with virtual interrupts enabled on return); not for use
//! from event handlers.
//!
//! ```no_run
//! use shared_abi::guest::{block, disk};
//! block::init().expect("no disk");
//! let mut sector = [0u8; 512];
//! disk::read_sectors(0, &mut sector).expect("read sector 0");
//! disk::write_sectors(1, &sector).expect("copy it to sector 1");
//! block::flush().expect("flush");
//! ```

use spin::{Mutex, Once};

use super::block::{self, BlockError, SECTOR};
use super::memory::{frames, phys_to_virt};

const PAGE: usize = 4096;

/// The bounce frame (guest-physical), allocated on first use.
static BOUNCE: Once<Mutex<u64>> = Once::new();

fn bounce() -> Result<&'static Mutex<u64>, BlockError> {
    BOUNCE.try_call_once(|| frames::allocate().map(Mutex::new).ok_or(BlockError::NoDisk))
}

fn check_length(len: usize) -> Result<(), BlockError> {
    match len as u64 % SECTOR {
        0 => Ok(()),
        _ => Err(BlockError::Length),
    }
}

/// Reads `buffer.len()` bytes (whole sectors) starting at `sector`.
///
/// # Errors
///
/// [`BlockError::Length`] when the length is not a multiple of 512;
/// [`BlockError::NoDisk`] before [`block::init`] or without a frame for
/// the copy; [`BlockError::Status`] when the device fails a request (an
/// I/O error for sectors beyond the disk). On an error `buffer` may hold
/// part of the data.
pub fn read_sectors(sector: u64, buffer: &mut [u8]) -> Result<(), BlockError> {
    check_length(buffer.len())?;
    let frame = bounce()?.lock();
    for (index, chunk) in buffer.chunks_mut(PAGE).enumerate() {
        let at = sector + (index * PAGE) as u64 / SECTOR;
        block::read(at, *frame, chunk.len() as u32)?;
        // SAFETY: the bounce frame is this module's (its lock is held) and
        // mapped at the physical-memory offset; `chunk` is at most a page.
        let source = unsafe { core::slice::from_raw_parts(phys_to_virt(*frame), chunk.len()) };
        chunk.copy_from_slice(source);
    }
    Ok(())
}

/// Writes `data` (whole sectors) starting at `sector`; durable after
/// [`block::flush`].
///
/// # Errors
///
/// As [`read_sectors`].
pub fn write_sectors(sector: u64, data: &[u8]) -> Result<(), BlockError> {
    check_length(data.len())?;
    let frame = bounce()?.lock();
    for (index, chunk) in data.chunks(PAGE).enumerate() {
        // SAFETY: as in read_sectors.
        let target = unsafe { core::slice::from_raw_parts_mut(phys_to_virt(*frame), chunk.len()) };
        target.copy_from_slice(chunk);
        let at = sector + (index * PAGE) as u64 / SECTOR;
        block::write(at, *frame, chunk.len() as u32)?;
    }
    Ok(())
}
