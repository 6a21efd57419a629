//! The block frontend's request ticket, errors and bound on requests in
//! flight, shared by [`block`](super::block) and its grant transport
//! [`block_grant`](super::block_grant).

/// Requests in flight at most, per frontend.
pub const MAX_IN_FLIGHT: usize = 5;

/// A request in flight, from [`block::submit`](super::block::submit);
/// give it to [`block::wait`](super::block::wait) exactly once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(pub(super) usize);

/// Why a request failed (virtio-blk status 1 is an I/O error, for example
/// a sector beyond the disk; 2 an unsupported request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockError {
    /// No disk region (none attached), or no frame for the ring.
    NoDisk,
    /// No block backend appeared in time (no driver domain serves the
    /// disk).
    NoBackend,
    /// The block backend refused this domain's connection (its region
    /// does not lie on the disk, say; the driver domain's log says why),
    /// or did not take it in time.
    Refused,
    /// The device answered with this status.
    Status(u8),
    /// Too many requests in flight.
    Busy,
    /// A buffer that is not a whole number of sectors, or longer than
    /// 64 KiB.
    Length,
    /// No response within
    /// [`TIMEOUT_NS`](super::block_grant::TIMEOUT_NS).
    Timeout,
    /// The backend went away (or refused this
    /// frontend) while the request was in flight, or none came back in
    /// time for a new request.
    Disconnected,
    /// The frontend was closed ([`close`](super::block::close)).
    Closed,
}
