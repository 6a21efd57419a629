//! The block frontend's grant transport: the ring of [`crate::blkif`] in
//! a page granted to the block backend in the driver domain, each
//! request's data pages granted to it for the request's time (all of them
//! in one `multicall`, and ended in one), and an event channel both ways.
//! [`super::block`] chooses it when `backend_domain(Block)` answers.
//!
//! Containment: a request without a response [`TIMEOUT_NS`] after its
//! submission fails with [`BlockError::Timeout`]. When the backend goes
//! away or a new one appears (`Virq::Backend`), every request in flight
//! fails with [`BlockError::Disconnected`] (none is resubmitted: the
//! caller decides whether to retry, and a write that failed may or may
//! not have reached the disk), and the frontend connects to the backend
//! there is then (a new grant of its ring, a new port); a request
//! submitted while there is none waits up to [`TIMEOUT_NS`] for one.
//!
//! At [`block::init`](super::block::init) the frontend waits, up to
//! [`TIMEOUT_NS`], for the backend to take the connection: it binds the
//! frontend's port and signals it.
//! A backend that refuses one (a region beyond the disk, a ring it cannot
//! map) binds the port and closes it again, which the frontend sees as
//! its port hung up: [`BlockError::Refused`] at once.

use core::sync::atomic::{AtomicBool, Ordering};

use spin::{Mutex, Once};

use super::block_request::{BlockError, MAX_IN_FLIGHT, Ticket};
use super::memory::{frames, phys_to_virt};
use super::{backend, events, grant, grant_batch, interrupts, timer};
use crate::backend::Kind;
use crate::blkif::{self, MAX_SEGMENTS, Operation, RING_SLOTS, Request, Segment, Shared};
use crate::block::{BlockRequestType, BlockStatus};
use crate::grant::{COPY_ONLY, GrantRef, READ_ONLY};

/// How long a request may go without a response: 2 s of virtual time.
pub const TIMEOUT_NS: u64 = 2_000_000_000;

/// How a request in flight ended (none yet: it may still time out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// The backend answered with this status (any value it chose).
    Answered(u32),
    /// The connection dropped first.
    Disconnected,
}

/// Connections made to a backend so far.
static CONNECTIONS: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// How many times this frontend has connected to a block backend (the
/// first connection and every reconnection).
pub fn connections() -> u32 {
    CONNECTIONS.load(Ordering::SeqCst)
}

/// The backend changes this frontend has followed ([`backend::changed`]).
static SEEN: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// Set by the ring port's handler when the backend hung the port up (it
/// is raised once and left unbound): a refused connection, or a backend
/// that went away.
static HUNG_UP: AtomicBool = AtomicBool::new(false);

#[derive(Clone, Copy, Default)]
struct Slot {
    busy: bool,
    /// How it ended, once it has.
    status: Option<Ending>,
    /// The request's id on the ring.
    id: u64,
    grants: [u32; MAX_SEGMENTS],
    count: usize,
    deadline: u64,
}

struct Front {
    /// The ring page (guest-physical).
    ring: u64,
    /// The ring's grant and the port, while connected.
    connected: Option<(GrantRef, u32)>,
    backend: u32,
    sectors: u64,
    producer: u32,
    consumed: u32,
    sequence: u64,
    slots: [Slot; MAX_IN_FLIGHT],
    /// Closed for good ([`close`]): no request, no reconnection.
    closed: bool,
    /// Old rings whose grant a backend still had mapped when the
    /// connection dropped (their grant and frame): the grant is ended, and
    /// the frame freed, once the backend lets go ([`Front::let_go`]).
    lingering: [Option<(GrantRef, u64)>; LINGERING],
}

/// Old rings kept waiting for a backend to unmap them; beyond that many,
/// a further one is left lent for good (its frame and grant slot lost).
const LINGERING: usize = 4;

static FRONT: Once<Mutex<Front>> = Once::new();

fn on_ring(port: u32) {
    let unbound = events::status(port).is_ok_and(|s| s.state == crate::event::PortState::Unbound);
    if unbound {
        HUNG_UP.store(true, Ordering::SeqCst);
    }
}

/// Waits until a backend changes (appears), up to `deadline`.
pub(super) fn wait_for_backend(deadline: u64) -> bool {
    timer::wait_until(deadline, || backend::domain(Kind::Block).is_ok())
}

impl Front {
    fn shared(&self) -> Shared<'static> {
        let page = phys_to_virt(self.ring).cast::<blkif::Ring>();
        // SAFETY: the ring frame is this frontend's, mapped at the
        // physical-memory offset for ever; the backend may change it.
        unsafe { Shared::new(core::ptr::NonNull::new(page).expect("mapped ring")) }
    }

    /// Connects to the backend there is now.
    fn connect(&mut self) -> Result<(), BlockError> {
        self.let_go();
        let backend = backend::domain(Kind::Block).map_err(|_| BlockError::Disconnected)?;
        self.shared().reset();
        let reference =
            grant::access(backend, self.ring, false).map_err(|_| BlockError::Disconnected)?;
        let port = match events::alloc_unbound(backend) {
            Ok(port) => port,
            Err(_) => {
                let _ = grant::end(reference);
                return Err(BlockError::Disconnected);
            }
        };
        interrupts::on_port(port, on_ring);
        if backend::connect(Kind::Block, reference.raw() as u32, port).is_err() {
            let _ = events::close(port);
            let _ = grant::end(reference);
            return Err(BlockError::Disconnected);
        }
        self.backend = backend;
        self.connected = Some((reference, port));
        CONNECTIONS.fetch_add(1, Ordering::SeqCst);
        self.producer = 0;
        self.consumed = 0;
        Ok(())
    }

    /// Fails every request in flight (as disconnected).
    fn fail_in_flight(&mut self) {
        for slot in self
            .slots
            .iter_mut()
            .filter(|s| s.busy && s.status.is_none())
        {
            slot.status = Some(Ending::Disconnected);
            end_grants(slot);
        }
    }

    /// Drops the connection: every request in flight fails.
    fn disconnect(&mut self) {
        self.fail_in_flight();
        if let Some((reference, port)) = self.connected.take() {
            let _ = events::close(port);
            if grant::end(reference) == Err(crate::Status::Busy) {
                // Still mapped by a backend that lives on: the page stays
                // lent, its grant remembered; the next ring is a fresh frame.
                if let Some(frame) = frames::allocate() {
                    if let Some(free) = self.lingering.iter_mut().find(|l| l.is_none()) {
                        *free = Some((reference, self.ring));
                    }
                    self.ring = frame;
                }
            }
        }
    }

    /// Ends the grants of old rings a backend has let go of (or that ended
    /// with it), freeing their frames.
    fn let_go(&mut self) {
        for lingering in &mut self.lingering {
            if let Some((reference, frame)) = *lingering
                && grant::end(reference) != Err(crate::Status::Busy)
            {
                frames::free(frame);
                *lingering = None;
            }
        }
    }

    /// After `Virq::Backend`: reconnects to whichever backend there is.
    fn follow_backend(&mut self) {
        if backend::changed(&SEEN) && !self.closed {
            self.disconnect();
            let _ = self.connect();
        }
    }

    /// Collects responses.
    fn reap(&mut self) {
        if self.connected.is_none() {
            return;
        }
        let shared = self.shared();
        let produced = shared.responses_produced();
        // A backend answers only requests it was given: a response index
        // past the request index (or behind the last one consumed) is a
        // broken ring.
        let outstanding = self.producer.wrapping_sub(self.consumed);
        if produced.wrapping_sub(self.consumed) > outstanding.min(RING_SLOTS) {
            self.disconnect();
            return;
        }
        while self.consumed != produced {
            let response = shared.response_at(self.consumed);
            self.consumed = self.consumed.wrapping_add(1);
            let index = (response.id & 0xff) as usize;
            if let Some(slot) = self.slots.get_mut(index)
                && slot.busy
                && slot.status.is_none()
                && slot.id == response.id
            {
                slot.status = Some(Ending::Answered(response.status));
                end_grants(slot);
            }
        }
    }

    fn enqueue(
        &mut self,
        kind: BlockRequestType,
        sector: u64,
        data: Option<(u64, u32)>,
    ) -> Result<Ticket, BlockError> {
        let (_, port) = self.connected.ok_or(BlockError::Disconnected)?;
        let operation = match kind {
            BlockRequestType::In => Operation::Read,
            BlockRequestType::Out => Operation::Write,
            BlockRequestType::Flush => Operation::Flush,
            BlockRequestType::GetId => Operation::GetId,
        };
        let index = self
            .slots
            .iter()
            .position(|s| !s.busy)
            .ok_or(BlockError::Busy)?;
        if self.producer.wrapping_sub(self.consumed) >= RING_SLOTS {
            return Err(BlockError::Busy);
        }
        let mut request = Request {
            operation: operation as u32,
            sector,
            ..Request::default()
        };
        let mut slot = Slot::default();
        if let Some((gpa, len)) = data {
            let whole = operation == Operation::GetId
                || (gpa.is_multiple_of(blkif::SECTOR)
                    && (len as u64).is_multiple_of(blkif::SECTOR)
                    && len > 0);
            if !whole || len as usize > MAX_SEGMENTS * 4096 {
                return Err(BlockError::Length);
            }
            if matches!(operation, Operation::Read | Operation::Write)
                && sector
                    .checked_add(u64::from(len) / blkif::SECTOR)
                    .is_none_or(|end| end > self.sectors)
            {
                return Err(BlockError::Status(BlockStatus::IoError as u8));
            }
            let mut pages = [0u64; MAX_SEGMENTS];
            let (mut at, end) = (gpa, gpa + u64::from(len));
            while at < end {
                let page_end = (at & !0xfff) + 4096;
                let piece = page_end.min(end) - at;
                if slot.count == MAX_SEGMENTS {
                    return Err(BlockError::Length);
                }
                pages[slot.count] = at & !0xfff;
                request.segment[slot.count] = Segment {
                    reference: 0,
                    offset: (at & 0xfff) as u16,
                    len: piece as u16,
                };
                slot.count += 1;
                at += piece;
            }
            // The pages are granted in one batch (a read's writable), for
            // copies only: the backend never maps them, so their grants
            // always end when the request does, and a page is never reused
            // while the backend could still write it.
            let mut references = [GrantRef::from_raw(0); MAX_SEGMENTS];
            let flags = match operation {
                Operation::Write => READ_ONLY | COPY_ONLY,
                _ => COPY_ONLY,
            };
            grant_batch::access(self.backend, &pages[..slot.count], flags, &mut references)
                .map_err(|_| BlockError::Busy)?;
            for (n, reference) in references[..slot.count].iter().enumerate() {
                request.segment[n].reference = reference.raw() as u32;
                slot.grants[n] = reference.raw() as u32;
            }
        }
        request.segments = slot.count as u32;
        self.sequence += 1;
        slot.id = self.sequence << 8 | index as u64;
        request.id = slot.id;
        slot.busy = true;
        slot.deadline = interrupts::now_ns().saturating_add(TIMEOUT_NS);
        self.slots[index] = slot;
        self.shared().push_request(self.producer, request);
        self.producer = self.producer.wrapping_add(1);
        let _ = events::send(port);
        Ok(Ticket(index))
    }
}

/// Ends the grants of a request's data pages (in one batch).
fn end_grants(slot: &mut Slot) {
    let references = slot.grants.map(|raw| GrantRef::from_raw(u64::from(raw)));
    grant_batch::end(&references[..slot.count]);
    slot.count = 0;
}

const _: () = assert!(grant_batch::BATCH >= MAX_SEGMENTS);

/// Connects to the block backend with a ring frame of its own; `sectors`
/// is the region `block_info` reported.
pub(super) fn init(sectors: u64) -> Result<u64, BlockError> {
    let ring = frames::allocate().ok_or(BlockError::NoDisk)?;
    let mut front = Front {
        ring,
        connected: None,
        backend: 0,
        sectors,
        producer: 0,
        consumed: 0,
        sequence: 0,
        slots: [Slot::default(); MAX_IN_FLIGHT],
        closed: false,
        lingering: [None; LINGERING],
    };
    backend::changed(&SEEN);
    HUNG_UP.store(false, Ordering::SeqCst);
    front.connect().map_err(|_| BlockError::NoBackend)?;
    let port = front.connected.map_or(0, |(_, port)| port);
    let taken =
        || events::status(port).is_ok_and(|s| s.state == crate::event::PortState::Interdomain);
    let deadline = interrupts::now_ns().saturating_add(TIMEOUT_NS);
    timer::wait_until(deadline, || HUNG_UP.load(Ordering::SeqCst) || taken());
    if HUNG_UP.load(Ordering::SeqCst) || !taken() {
        front.disconnect();
        return Err(BlockError::Refused);
    }
    FRONT.call_once(|| Mutex::new(front));
    Ok(sectors)
}

fn front() -> Result<&'static Mutex<Front>, BlockError> {
    FRONT.get().ok_or(BlockError::NoDisk)
}

/// Submits a request (see [`super::block::submit`]); with no backend
/// connected, waits up to [`TIMEOUT_NS`] for one.
pub(super) fn submit(
    kind: BlockRequestType,
    sector: u64,
    data: Option<(u64, u32)>,
) -> Result<Ticket, BlockError> {
    let front = front()?;
    let attempt = || {
        interrupts::without(|| {
            let mut f = front.lock();
            if f.closed {
                return Err(BlockError::Closed);
            }
            f.follow_backend();
            if f.connected.is_none() {
                let _ = f.connect();
            }
            f.reap();
            f.enqueue(kind, sector, data)
        })
    };
    match attempt() {
        Err(BlockError::Disconnected) => {
            let deadline = interrupts::now_ns().saturating_add(TIMEOUT_NS);
            wait_for_backend(deadline);
            attempt()
        }
        other => other,
    }
}

/// Closes the connection for good (see [`super::block::close`]).
pub(super) fn close() -> Result<(), BlockError> {
    let front = front()?;
    let connected = interrupts::without(|| {
        let mut f = front.lock();
        f.closed = true;
        f.fail_in_flight();
        f.connected.take()
    });
    let Some((reference, port)) = connected else {
        return Ok(());
    };
    let _ = events::close(port);
    let deadline = interrupts::now_ns().saturating_add(CLOSE_WAIT_NS);
    loop {
        if grant::end(reference) != Err(crate::Status::Busy) {
            return Ok(());
        }
        if interrupts::now_ns() >= deadline {
            return Err(BlockError::Timeout);
        }
        timer::sleep(CLOSE_POLL_NS);
    }
}

/// How long [`block::close`](super::block::close) waits for the backend to
/// let go of the ring: 1 s.
pub const CLOSE_WAIT_NS: u64 = 1_000_000_000;
/// How often [`close`] looks whether it has: every millisecond.
const CLOSE_POLL_NS: u64 = 1_000_000;

/// Waits for `ticket` (see [`super::block::wait`]): its response, or
/// [`BlockError::Timeout`] at its deadline, or
/// [`BlockError::Disconnected`].
pub(super) fn wait(ticket: Ticket) -> Result<(), BlockError> {
    let front = front()?;
    let deadline =
        interrupts::without(|| front.lock().slots.get(ticket.0).map_or(0, |s| s.deadline));
    let done = || {
        let mut f = front.lock();
        f.follow_backend();
        f.reap();
        f.slots[ticket.0].status.is_some()
    };
    timer::wait_until(deadline, done);
    interrupts::without(|| {
        let mut f = front.lock();
        let slot = &mut f.slots[ticket.0];
        if !slot.busy {
            return Err(BlockError::NoDisk);
        }
        let status = slot.status;
        if status.is_none() {
            end_grants(slot);
        }
        *slot = Slot::default();
        match status {
            None => Err(BlockError::Timeout),
            Some(Ending::Disconnected) => Err(BlockError::Disconnected),
            Some(Ending::Answered(blkif::status::OK)) => Ok(()),
            Some(Ending::Answered(other)) => Err(BlockError::Status(other.min(0xfe) as u8)),
        }
    })
}
