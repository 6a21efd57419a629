//! The block frontend: the disk is the driver domain's, and its backend
//! serves this domain's region of it through the grant transport of
//! [`block_grant`] (a ring in a page granted to the backend, data pages
//! granted per request, requests that time out or are failed on a
//! disconnection instead of hanging, reconnection when a restarted backend
//! comes back).
//!
//! Requests are submitted asynchronously ([`submit`]) and several may be in
//! flight; completions are collected with [`wait`]. [`read`], [`write()`]
//! and [`flush`] are the synchronous wrappers most callers want. Buffers
//! are guest-physical and must be contiguous in guest-physical memory (a
//! frame from [`frames`](super::memory::frames) is);
//! [`disk`](super::disk) reads and writes ordinary byte buffers through a
//! frame of its own.
//!
//! Order: [`interrupts::init`], then [`init`], then
//! requests; waiting sleeps with
//! [`interrupts::wait_for_event`], so it
//! returns with virtual interrupts enabled. Not for use from event
//! handlers.
//!
//! ```no_run
//! use shared_abi::guest::{block, memory::frames};
//! let sectors = block::init().expect("no disk");
//! let frame = frames::allocate().expect("out of memory");
//! block::read(sectors - 8, frame, 4096).expect("read the last 4 KiB");
//! ```

use super::block_grant;
use super::interrupts;
use crate::block::{BlockRequestType, SECTOR_SIZE};
use crate::guest as hv;

pub use super::block_request::{BlockError, MAX_IN_FLIGHT, Ticket};

/// Connects to the block backend; returns the size of this domain's disk
/// region in 512-byte sectors. Call it once. A driver domain's backend
/// that is not up yet is waited for, up to [`BACKEND_WAIT_NS`].
///
/// # Errors
///
/// [`BlockError::NoDisk`] when the domain has no disk region (`block_info`
/// is 0, as when no disk is attached) or no frame is left for the ring;
/// [`BlockError::NoBackend`] when no driver domain offers a block backend
/// within [`BACKEND_WAIT_NS`] (a disk attached without a driver domain);
/// [`BlockError::Refused`] when the backend refuses the connection or
/// does not take it within [`TIMEOUT_NS`](block_grant::TIMEOUT_NS).
pub fn init() -> Result<u64, BlockError> {
    let sectors = hv::devices::block_info();
    if sectors == 0 {
        return Err(BlockError::NoDisk);
    }
    super::backend::watch();
    let deadline = interrupts::now_ns().saturating_add(BACKEND_WAIT_NS);
    if !block_grant::wait_for_backend(deadline) {
        return Err(BlockError::NoBackend);
    }
    block_grant::init(sectors)
}

/// How long [`init`] waits for a block backend to appear: 10 s.
pub const BACKEND_WAIT_NS: u64 = 10_000_000_000;

/// Submits a request on `data` (guest-physical, `len` bytes, a multiple of
/// 512 for reads and writes) without waiting for it; collect it with
/// [`wait`]. Up to [`MAX_IN_FLIGHT`] requests may be in flight.
///
/// # Errors
///
/// [`BlockError::NoDisk`] before [`init`]; [`BlockError::Busy`] with
/// [`MAX_IN_FLIGHT`] requests in flight; [`BlockError::Disconnected`] when
/// no backend is there within the timeout; [`BlockError::Length`] for
/// more than 64 KiB; an I/O error status for sectors outside the disk
/// region (not sent).
pub fn submit(
    kind: BlockRequestType,
    sector: u64,
    data: Option<(u64, u32)>,
) -> Result<Ticket, BlockError> {
    block_grant::submit(kind, sector, data)
}

/// Waits for `ticket` to complete.
///
/// # Errors
///
/// [`BlockError::Status`] with the device's status byte;
/// [`BlockError::NoDisk`] before [`init`]; [`BlockError::Timeout`] when
/// no response came within [`TIMEOUT_NS`](block_grant::TIMEOUT_NS) of the
/// submission, and [`BlockError::Disconnected`] when the backend went
/// away meanwhile.
pub fn wait(ticket: Ticket) -> Result<(), BlockError> {
    block_grant::wait(ticket)
}

/// Submits a request and waits for it.
fn run(kind: BlockRequestType, sector: u64, data: Option<(u64, u32)>) -> Result<(), BlockError> {
    wait(submit(kind, sector, data)?)
}

/// Reads `len` bytes (whole sectors) at `sector` into guest-physical
/// `buffer` and waits for them. Errors as [`submit`] and [`wait`].
pub fn read(sector: u64, buffer: u64, len: u32) -> Result<(), BlockError> {
    run(BlockRequestType::In, sector, Some((buffer, len)))
}

/// Writes `len` bytes (whole sectors) from guest-physical `buffer` at
/// `sector` and waits for the device to take them (durable after
/// [`flush`]). Errors as [`submit`] and [`wait`].
pub fn write(sector: u64, buffer: u64, len: u32) -> Result<(), BlockError> {
    run(BlockRequestType::Out, sector, Some((buffer, len)))
}

/// Makes every completed write durable. Errors as [`submit`] and [`wait`].
pub fn flush() -> Result<(), BlockError> {
    run(BlockRequestType::Flush, 0, None)
}

/// Closes the connection to the block backend for good, as a domain about
/// to shut down should (after its last [`flush`]): requests still in
/// flight fail with [`BlockError::Disconnected`], the ring's port is
/// closed, the backend (seeing its end of the port unbound) unmaps the
/// ring, and the ring's grant is ended once it has; later requests fail
/// with [`BlockError::Closed`]. Without it the backend holds the ring
/// until the domain ends, and the hypervisor then revokes it with a line
/// in its log.
///
/// # Errors
///
/// [`BlockError::NoDisk`] before [`init`]; [`BlockError::Timeout`] when the
/// backend has not let go of the ring within
/// [`CLOSE_WAIT_NS`](block_grant::CLOSE_WAIT_NS) (a hung backend: the
/// grant is revoked when the domain ends).
pub fn close() -> Result<(), BlockError> {
    block_grant::close()
}

/// Sector size in bytes.
pub const SECTOR: u64 = SECTOR_SIZE;
