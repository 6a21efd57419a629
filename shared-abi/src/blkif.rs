//! The block ring between a frontend and the block backend in the driver
//! domain: one page, granted read-write by the frontend to the backend
//! domain, holding request and response slots with free-running producer
//! indices (`u32`, wrapping; a slot is `index % RING_SLOTS`).
//!
//! | offset | field | written by |
//! |---|---|---|
//! | 0 | `request_producer` | frontend |
//! | 4 | `response_producer` | backend |
//! | 64 | `requests[8]` (152 bytes each) | frontend |
//! | 1280 | `responses[8]` (16 bytes each) | backend |
//!
//! A request names its sectors relative to the frontend's region and its
//! data as up to [`MAX_SEGMENTS`] grant references with an offset and a
//! length within their page. The frontend never has more than
//! [`RING_SLOTS`] requests without a response. The backend ([`BackRing`])
//! reads each shared field once, copies a request out before looking at
//! it, and treats every value as hostile: [`BackRing::take`] and
//! [`Request::validate`] name what was wrong ([`RingError`]), and the
//! backend disconnects the frontend.

use core::ptr::NonNull;
use core::sync::atomic::{Ordering, fence};

use volatile::{VolatilePtr, map_field};

/// Request (and response) slots of the ring.
pub const RING_SLOTS: u32 = 8;
/// Data segments of one request at most (one page each): 64 KiB.
pub const MAX_SEGMENTS: usize = 16;
/// Bytes of a sector.
pub const SECTOR: u64 = 512;
/// Bytes of the device identifier a [`Operation::GetId`] returns.
pub const ID_BYTES: u16 = 20;

/// What a request asks.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Read the sectors into the segments.
    Read = 0,
    /// Write the segments to the sectors.
    Write = 1,
    /// Make every completed write durable (no segment).
    Flush = 2,
    /// The device identifier into the one segment (up to 20 bytes).
    GetId = 3,
}

impl Operation {
    /// Decodes an operation number.
    pub fn from_number(number: u32) -> Option<Self> {
        [Self::Read, Self::Write, Self::Flush, Self::GetId]
            .into_iter()
            .find(|op| *op as u32 == number)
    }
}

/// A response's status (virtio-blk's values).
pub mod status {
    /// Done.
    pub const OK: u32 = 0;
    /// The device failed it.
    pub const IO_ERROR: u32 = 1;
    /// Not supported.
    pub const UNSUPPORTED: u32 = 2;
}

/// One page of a request's data.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// The frontend's grant of the page to the backend domain.
    pub reference: u32,
    /// Offset of the data in the page.
    pub offset: u16,
    /// Bytes of data.
    pub len: u16,
}

/// A request slot (IN for the backend).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// The frontend's name for the request, returned in its response.
    pub id: u64,
    /// An [`Operation`] number.
    pub operation: u32,
    /// Segments used.
    pub segments: u32,
    /// First sector, relative to the frontend's region.
    pub sector: u64,
    /// The data.
    pub segment: [Segment; MAX_SEGMENTS],
}

/// A response slot (OUT from the backend).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// The request's `id`.
    pub id: u64,
    /// A [`status`] value.
    pub status: u32,
    /// Zero.
    pub reserved: u32,
}

/// The ring page.
#[repr(C, align(4096))]
pub struct Ring {
    /// Requests the frontend has produced (free-running).
    pub request_producer: u32,
    /// Responses the backend has produced (free-running).
    pub response_producer: u32,
    reserved: [u32; 14],
    /// The request slots.
    pub requests: [Request; RING_SLOTS as usize],
    /// The response slots.
    pub responses: [Response; RING_SLOTS as usize],
}

const _: () = {
    assert!(core::mem::size_of::<Segment>() == 8);
    assert!(core::mem::size_of::<Request>() == 152);
    assert!(core::mem::size_of::<Response>() == 16);
    assert!(core::mem::offset_of!(Ring, request_producer) == 0);
    assert!(core::mem::offset_of!(Ring, response_producer) == 4);
    assert!(core::mem::offset_of!(Ring, requests) == 64);
    assert!(core::mem::offset_of!(Ring, responses) == 1280);
    assert!(core::mem::size_of::<Ring>() == 4096);
};

/// What made the backend give up on a frontend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingError {
    /// The request producer moved further than the ring holds.
    IndexTooFar,
    /// An operation number no one defined.
    UnknownOperation,
    /// Too many segments, or none where data is needed (or some for a
    /// flush).
    SegmentCount,
    /// A segment runs past its page, or is not whole sectors.
    SegmentPastPage,
    /// The sectors lie outside the frontend's region.
    OutsideRegion,
    /// A grant reference did not work.
    BadReference,
}

impl RingError {
    /// The reason, for the disconnection line.
    pub fn why(self) -> &'static str {
        match self {
            Self::IndexTooFar => "the request producer moved further than the ring holds",
            Self::UnknownOperation => "an unknown operation",
            Self::SegmentCount => "a wrong number of segments",
            Self::SegmentPastPage => "a segment past its page",
            Self::OutsideRegion => "a sector range outside its region",
            Self::BadReference => "a grant reference that does not work",
        }
    }
}

/// A request that passed [`Request::validate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Valid {
    /// The frontend's id for it.
    pub id: u64,
    /// The operation.
    pub operation: Operation,
    /// First sector, relative to the region (within it).
    pub sector: u64,
    /// Bytes of all segments.
    pub bytes: u64,
    /// Segments used.
    pub count: usize,
    /// The segments (the first `count`).
    pub segment: [Segment; MAX_SEGMENTS],
}

impl Request {
    /// Checks a request copied out of the ring against a region of
    /// `region_sectors`.
    pub fn validate(&self, region_sectors: u64) -> Result<Valid, RingError> {
        let operation =
            Operation::from_number(self.operation).ok_or(RingError::UnknownOperation)?;
        let count = self.segments as usize;
        let wanted = match operation {
            Operation::Flush => count == 0,
            Operation::GetId => count == 1,
            Operation::Read | Operation::Write => (1..=MAX_SEGMENTS).contains(&count),
        };
        if !wanted {
            return Err(RingError::SegmentCount);
        }
        let mut bytes = 0u64;
        for segment in &self.segment[..count] {
            let (offset, len) = (u64::from(segment.offset), u64::from(segment.len));
            let whole = match operation {
                Operation::GetId => len > 0 && len <= u64::from(ID_BYTES),
                _ => len > 0 && offset % SECTOR == 0 && len % SECTOR == 0,
            };
            if !whole || offset + len > 4096 {
                return Err(RingError::SegmentPastPage);
            }
            bytes += len;
        }
        if matches!(operation, Operation::Read | Operation::Write) {
            let end = self
                .sector
                .checked_add(bytes / SECTOR)
                .ok_or(RingError::OutsideRegion)?;
            if end > region_sectors {
                return Err(RingError::OutsideRegion);
            }
        }
        Ok(Valid {
            id: self.id,
            operation,
            sector: self.sector,
            bytes,
            count,
            segment: self.segment,
        })
    }
}

/// A ring page as shared memory.
#[derive(Clone, Copy)]
pub struct Shared<'a> {
    ring: VolatilePtr<'a, Ring>,
}

impl<'a> Shared<'a> {
    /// The ring at `page`.
    ///
    /// # Safety
    ///
    /// `page` must point at a mapped, writable page that stays mapped for
    /// `'a`; the other side may change it at any time.
    pub unsafe fn new(page: NonNull<Ring>) -> Self {
        Self {
            // SAFETY: as the caller promised.
            ring: unsafe { VolatilePtr::new(page) },
        }
    }

    fn request_producer(self) -> VolatilePtr<'a, u32> {
        {
            let ring = self.ring;
            map_field!(ring.request_producer)
        }
    }

    fn response_producer(self) -> VolatilePtr<'a, u32> {
        {
            let ring = self.ring;
            map_field!(ring.response_producer)
        }
    }

    fn request(self, index: u32) -> VolatilePtr<'a, Request> {
        let slot = (index % RING_SLOTS) as usize;
        // SAFETY: `slot` is below the array's length: the pointer stays
        // inside the page.
        unsafe {
            self.ring.map(|ring| {
                NonNull::new_unchecked(core::ptr::addr_of_mut!((*ring.as_ptr()).requests[slot]))
            })
        }
    }

    fn response(self, index: u32) -> VolatilePtr<'a, Response> {
        let slot = (index % RING_SLOTS) as usize;
        // SAFETY: as for `request`.
        unsafe {
            self.ring.map(|ring| {
                NonNull::new_unchecked(core::ptr::addr_of_mut!((*ring.as_ptr()).responses[slot]))
            })
        }
    }

    /// Frontend: zeroes both producers (before granting the page).
    pub fn reset(self) {
        self.request_producer().write(0);
        self.response_producer().write(0);
    }

    /// Frontend: puts `request` in slot `index` and publishes `index + 1`
    /// as the request producer.
    pub fn push_request(self, index: u32, request: Request) {
        self.request(index).write(request);
        fence(Ordering::Release);
        self.request_producer().write(index.wrapping_add(1));
        fence(Ordering::SeqCst);
    }

    /// Frontend: the backend's response producer.
    pub fn responses_produced(self) -> u32 {
        let produced = self.response_producer().read();
        fence(Ordering::Acquire);
        produced
    }

    /// Frontend: the response in slot `index` (below
    /// [`Shared::responses_produced`]).
    pub fn response_at(self, index: u32) -> Response {
        self.response(index).read()
    }
}

/// The backend's side of one ring: its own copies of the indices, never
/// read back from the page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackRing {
    /// Requests taken.
    consumed: u32,
    /// Responses produced.
    produced: u32,
    /// The request producer as last read.
    seen: u32,
}

impl BackRing {
    /// Reads the request producer (once) and checks it: it may be ahead
    /// of the responses produced by [`RING_SLOTS`] at most, and never
    /// behind the requests taken.
    pub fn refresh(&mut self, shared: Shared<'_>) -> Result<(), RingError> {
        let producer = shared.request_producer().read();
        fence(Ordering::Acquire);
        let ahead = producer.wrapping_sub(self.produced);
        let behind = producer.wrapping_sub(self.consumed);
        if ahead > RING_SLOTS || behind > ahead {
            return Err(RingError::IndexTooFar);
        }
        self.seen = producer;
        Ok(())
    }

    /// The next request seen at the last [`BackRing::refresh`], copied out
    /// (one read of its slot), if any.
    pub fn take(&mut self, shared: Shared<'_>) -> Option<Request> {
        if self.consumed == self.seen {
            return None;
        }
        let request = shared.request(self.consumed).read();
        self.consumed = self.consumed.wrapping_add(1);
        Some(request)
    }

    /// Publishes a response.
    pub fn respond(&mut self, shared: Shared<'_>, id: u64, status: u32) {
        shared.response(self.produced).write(Response {
            id,
            status,
            reserved: 0,
        });
        self.produced = self.produced.wrapping_add(1);
        fence(Ordering::Release);
        shared.response_producer().write(self.produced);
        fence(Ordering::SeqCst);
    }

    /// The request producer as last read (by [`BackRing::refresh`]).
    pub fn requests_seen(&self) -> u32 {
        self.seen
    }

    /// Requests taken and not yet answered.
    pub fn outstanding(&self) -> u32 {
        self.consumed.wrapping_sub(self.produced)
    }
}

#[cfg(test)]
mod tests;
