//! What both transports of the block frontend share: the request ticket,
//! the errors and the bound on requests in flight (the virtqueue to the
//! ring-0 backend in [`block`](super::block), the grant ring to a driver
//! domain's backend in [`block_grant`](super::block_grant)).

/// Entries of the virtqueue [`block::init`](super::block::init) sets up.
pub const QUEUE_SIZE: u16 = 16;
/// Requests in flight at most (each takes three descriptors).
pub const MAX_IN_FLIGHT: usize = (QUEUE_SIZE / 3) as usize;

/// A request in flight, from [`block::submit`](super::block::submit);
/// give it to [`block::wait`](super::block::wait) exactly once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(pub(super) usize);

/// Why a request failed (virtio-blk status 1 is an I/O error, for example
/// a sector beyond the disk; 2 an unsupported request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockError {
    /// No disk, or the queue could not be set up.
    NoDisk,
    /// The device answered with this status.
    Status(u8),
    /// Too many requests in flight.
    Busy,
    /// A buffer that is not a whole number of sectors (or, through a
    /// driver domain, longer than 64 KiB).
    Length,
    /// Through a driver domain: no response within
    /// [`TIMEOUT_NS`](super::block_grant::TIMEOUT_NS).
    Timeout,
    /// Through a driver domain: the backend went away (or refused this
    /// frontend) while the request was in flight, or none came back in
    /// time for a new request.
    Disconnected,
}
