//! The block backend of the driver domain: serves frontends in other
//! domains over the ring of [`shared_abi::blkif`] in a page each frontend
//! grants, with the physical disk driven here ([`Disk`]).
//!
//! It offers itself (`backend_offer(Block)`), binds `Virq::Backend`, and
//! for each connection (`backend_accept`) maps the frontend's ring page
//! and binds its port. Requests go to the device without waiting, up to
//! [`TAGS`] at once across frontends, each through a bounce buffer of its
//! own in the DMA pool: a write's data is copied in from the frontend's
//! granted pages (`grant_copy_from`) before it starts, a read's copied out
//! (`grant_copy_to`) when the device's interrupt completes it, the copies
//! of all of a request's pages in one `multicall`; then the response goes
//! on the ring and an event to the frontend. Requests are taken one from
//! each frontend in turn, so that none keeps the others from the device;
//! a flush waits until nothing else is in flight, and no new request
//! starts while it waits. While nothing is to be done, the
//! domain is blocked (`block`), waking at least every [`FEED_NS`] to feed
//! its watchdog.
//!
//! Every value in a ring is hostile: each shared field is read once
//! (`blkif::BackRing`), every request validated against the frontend's
//! region; a frontend whose ring is corrupt (index too far, unknown
//! operation, a segment past its page, sectors outside its region, a grant
//! reference that does not work) is disconnected with one line,
//! `frontend N disconnected: <why>`, and the others go on.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use shared_abi::backend::{Connection, Kind};
use shared_abi::blkif::{
    self, BackRing, MAX_SEGMENTS, Operation, RingError, Shared, Valid, status,
};
use shared_abi::event::Virq;
use shared_abi::grant::GrantRef;
use shared_abi::guest::grant_batch::{self, Piece};
use shared_abi::guest::{backend, events, grant, watchdog};
use virtio_drivers::device::blk::{BlkReq, BlkResp};

use super::lies::{self, Lie};
use super::ring_view::{self, RingMapping};
use super::{Disk, SECTOR, buffer, interrupted, request_pair};
use crate::{interrupts, println, timer};

/// Requests in flight on the device at most.
pub const TAGS: usize = 4;
pub use super::liveness::{FEED_NS, WATCHDOG_NS};

/// Tells a frontend its connection was refused: its port is bound and
/// closed at once, which leaves it unbound and raised (the frontend's
/// `block::init` then answers `Refused` instead of waiting).
fn hang_up(c: &Connection) {
    if let Ok(port) = events::bind_interdomain(c.frontend, c.port) {
        let _ = events::close(port);
    }
}

/// An event arrived on a frontend's port or `Virq::Backend`.
static WORK: AtomicBool = AtomicBool::new(false);
/// `Virq::Backend` arrived: connections may be waiting.
static ACCEPT: AtomicBool = AtomicBool::new(true);
/// The ports that had events since the last look (bit `port % 64`).
static RAISED: AtomicU64 = AtomicU64::new(0);

fn on_work(port: u32) {
    RAISED.fetch_or(1 << (port % 64), Ordering::SeqCst);
    WORK.store(true, Ordering::SeqCst);
}

fn on_backend(_port: u32) {
    ACCEPT.store(true, Ordering::SeqCst);
    WORK.store(true, Ordering::SeqCst);
}

/// One connected frontend.
struct Frontend {
    id: u32,
    /// Its ring page, mapped.
    mapping: RingMapping,
    ring: BackRing,
    port: u32,
    first_sector: u64,
    sectors: u64,
    /// A flush waiting for the device to be idle.
    flush: Option<u64>,
    live: bool,
    /// Whether the last look at its ring found new requests.
    moved: bool,
}

impl Frontend {
    fn shared(&self) -> Shared<'static> {
        let page = self.mapping.view() as *mut blkif::Ring;
        // SAFETY: the frontend's ring page is mapped writable at `window`
        // while the frontend is live; the frontend may change it at any
        // time, which `Shared` allows for.
        unsafe { Shared::new(core::ptr::NonNull::new(page).expect("mapped window")) }
    }
}

/// A request on the device.
struct Tag {
    /// The frontend (index) and its request, while in flight.
    busy: Option<(usize, Valid)>,
    token: u16,
    request: &'static mut BlkReq,
    response: &'static mut BlkResp,
    buffer: &'static mut [u8],
}

/// Options of the backend's run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Crash (an undefined instruction) when this many requests have been
    /// taken, with them still in flight.
    pub crash_after: Option<u64>,
    /// Stop feeding the watchdog (and spin) after this many requests.
    pub hang_after: Option<u64>,
    /// Return from [`Backend::serve`] once this many frontend domains
    /// have connected and every one has ended.
    pub clients: Option<usize>,
    /// Lie about reads at the sectors [`lies`] names.
    pub lie: bool,
}

/// The backend.
pub struct Backend {
    disk: Disk,
    frontends: Vec<Frontend>,
    tags: Vec<Tag>,
    taken: u64,
    /// The domains that connected as frontends.
    seen: Vec<u32>,
    /// The most requests on the device at once.
    most_in_flight: usize,
    /// The frontend whose turn it is to have a request taken first.
    turn: usize,
    options: Options,
}

impl Backend {
    /// Offers the block backend, with `disk` set up.
    pub fn new(disk: Disk, options: Options) -> Result<Self, shared_abi::Status> {
        let tags = (0..TAGS)
            .map(|_| {
                let (request, response) = request_pair();
                Tag {
                    busy: None,
                    token: 0,
                    request,
                    response,
                    buffer: buffer(MAX_SEGMENTS * 4096),
                }
            })
            .collect();
        ring_view::init()?;
        ACCEPT.store(true, Ordering::SeqCst);
        interrupts::bind_virq(Virq::Backend, on_backend)?;
        watchdog::arm(WATCHDOG_NS)?;
        backend::offer(Kind::Block)?;
        Ok(Self {
            disk,
            frontends: Vec::new(),
            tags,
            taken: 0,
            seen: Vec::new(),
            most_in_flight: 0,
            turn: 0,
            options,
        })
    }

    /// Serves until the frontends [`Options::clients`] asks for have come
    /// and gone (for ever without it); the watchdog is disarmed then.
    /// `beside` runs at every wake (the console server's turn), and
    /// `beside_waits` (work for it) wakes the backend too.
    pub fn serve(mut self, mut beside: impl FnMut(), beside_waits: fn() -> bool) {
        let mut fed = 0;
        loop {
            // Fed, and every frontend checked, at most every `FEED_NS`,
            // not at each wake.
            let periodic = interrupts::now_ns().saturating_sub(fed) >= FEED_NS;
            if periodic {
                let _ = watchdog::arm(WATCHDOG_NS);
                fed = interrupts::now_ns();
            }
            WORK.store(false, Ordering::SeqCst);
            let raised = RAISED.swap(0, Ordering::SeqCst);
            if ACCEPT.swap(false, Ordering::SeqCst) {
                self.accept();
            }
            self.complete();
            self.pull();
            self.forget_ended(raised, periodic);
            beside();
            let idle = self.tags.iter().all(|t| t.busy.is_none())
                && self.frontends.iter().all(|f| !f.live);
            if idle
                && self.options.clients.is_some_and(|n| self.seen.len() >= n)
                && self.all_ended()
            {
                watchdog::disarm();
                println!(
                    "served {} requests, up to {} on the device at once, {} frontend entries",
                    self.taken,
                    self.most_in_flight,
                    self.frontends.len()
                );
                return;
            }
            let deadline = interrupts::now_ns() + FEED_NS;
            timer::wait_until(deadline, || {
                WORK.load(Ordering::SeqCst) || interrupted() || beside_waits()
            });
        }
    }

    /// Drops the frontends whose domain ended (their port is no longer
    /// connected): of every one when `all`, else of those whose port had
    /// an event (in `raised`) without a new request (a domain that ends
    /// raises its peers' ports).
    fn forget_ended(&mut self, raised: u64, all: bool) {
        for index in 0..self.frontends.len() {
            let frontend = &self.frontends[index];
            let quiet_event = raised & (1 << (frontend.port % 64)) != 0 && !frontend.moved;
            if frontend.live && (all || quiet_event) && self.gone(index) {
                let id = frontend.id;
                match domain_alive(id) {
                    true => println!("frontend {id} closed its connection"),
                    false => println!("frontend {id} gone"),
                }
                self.drop_frontend(index);
            }
        }
    }

    /// Takes the connections waiting.
    fn accept(&mut self) {
        if let Err(status) = backend::accept_all(Kind::Block, |c| self.connect(c)) {
            panic!("backend_accept: {}", status.name());
        }
    }

    fn connect(&mut self, c: &Connection) {
        if let Some(old) = self
            .frontends
            .iter()
            .position(|f| f.live && f.id == c.frontend)
        {
            self.drop_frontend(old);
        }
        let end = c.first_sector.checked_add(c.sectors);
        if end.is_none_or(|end| end > self.disk.sectors()) {
            println!(
                "frontend {} refused: its region ({} sectors at {}) lies beyond the disk",
                c.frontend, c.sectors, c.first_sector
            );
            hang_up(c);
            return;
        }
        let reference = GrantRef::from_raw(u64::from(c.reference));
        let mapping = match ring_view::map(c.frontend, reference) {
            Ok(mapping) => mapping,
            Err(error) => {
                println!("frontend {} refused: {error}", c.frontend);
                hang_up(c);
                return;
            }
        };
        // A frontend whose domain ended before this backend noticed lost
        // its grant, and its window slot may be the one just handed out:
        // it is forgotten here, so that dropping it later cannot unmap the
        // new ring.
        for stale in self
            .frontends
            .iter_mut()
            .filter(|f| f.live && !f.mapping.current())
        {
            stale.live = false;
            let _ = events::close(stale.port);
            println!("frontend {} gone", stale.id);
        }
        let port = match events::bind_interdomain(c.frontend, c.port) {
            Ok(port) => port,
            Err(status) => {
                ring_view::unmap(mapping);
                println!("frontend {} refused: port: {}", c.frontend, status.name());
                return;
            }
        };
        interrupts::on_port(port, on_work);
        println!(
            "frontend {} connected: {} sectors at sector {}",
            c.frontend, c.sectors, c.first_sector
        );
        // Taken: the frontend waits for this at its start.
        let _ = events::send(port);
        if !self.seen.contains(&c.frontend) {
            self.seen.push(c.frontend);
        }
        let frontend = Frontend {
            id: c.frontend,
            mapping,
            ring: BackRing::default(),
            port,
            first_sector: c.first_sector,
            sectors: c.sectors,
            flush: None,
            live: true,
            moved: false,
        };
        // A dropped frontend's entry is reused once no request on the
        // device names it, so that connecting again and again cannot grow
        // the list: it holds the live frontends and at most `TAGS` others.
        match (0..self.frontends.len()).find(|&index| self.reusable(index)) {
            Some(index) => self.frontends[index] = frontend,
            None => self.frontends.push(frontend),
        }
        WORK.store(true, Ordering::SeqCst);
    }

    /// Whether entry `index` is a dropped frontend no request on the
    /// device still names.
    fn reusable(&self, index: usize) -> bool {
        !self.frontends[index].live
            && !self
                .tags
                .iter()
                .any(|tag| tag.busy.as_ref().is_some_and(|(at, _)| *at == index))
    }

    /// Unmaps a frontend's ring and closes its port (its requests on the
    /// device finish unanswered).
    fn drop_frontend(&mut self, index: usize) {
        let frontend = &mut self.frontends[index];
        if !frontend.live {
            return;
        }
        frontend.live = false;
        let _ = events::close(frontend.port);
        ring_view::unmap(frontend.mapping);
        // Its requests still on the device finish unanswered: `complete`
        // finds the frontend no longer live.
    }

    /// Whether every domain that connected has ended.
    fn all_ended(&self) -> bool {
        self.seen.iter().all(|&id| !domain_alive(id))
    }

    /// Whether frontend `index`'s domain ended (its port is no longer
    /// connected).
    fn gone(&self, index: usize) -> bool {
        events::status(self.frontends[index].port)
            .is_ok_and(|s| s.state != shared_abi::event::PortState::Interdomain)
    }

    /// Disconnects frontend `index` for `why`, unless what went wrong is
    /// that its domain ended.
    fn disconnect(&mut self, index: usize, why: RingError) {
        match self.gone(index) {
            true => println!("frontend {} gone", self.frontends[index].id),
            false => println!(
                "frontend {} disconnected: {}",
                self.frontends[index].id,
                why.why()
            ),
        }
        self.drop_frontend(index);
    }

    /// Takes requests while tags are free: each frontend's ring is read
    /// once, then one request is taken from each in turn (starting after
    /// the one served first last time), so that no frontend can keep the
    /// others from the device. A flush waits until nothing is in flight,
    /// and while one waits no new request is started, so that it cannot
    /// be put off for ever.
    fn pull(&mut self) {
        for index in 0..self.frontends.len() {
            if !self.frontends[index].live {
                continue;
            }
            let shared = self.frontends[index].shared();
            let before = self.frontends[index].ring.requests_seen();
            if let Err(why) = self.frontends[index].ring.refresh(shared) {
                self.disconnect(index, why);
                continue;
            }
            self.frontends[index].moved = self.frontends[index].ring.requests_seen() != before;
        }
        let count = self.frontends.len();
        let mut idle = 0;
        let mut at = self.turn;
        while idle < count {
            let index = at % count;
            at += 1;
            match self.take_one(index) {
                true => {
                    idle = 0;
                    self.turn = at % count;
                }
                false => idle += 1,
            }
        }
    }

    /// Takes one request of frontend `index` (or runs its waiting flush);
    /// returns whether it did.
    fn take_one(&mut self, index: usize) -> bool {
        if !self.frontends[index].live {
            return false;
        }
        let in_flight = self.tags.iter().any(|t| t.busy.is_some());
        if let Some(id) = self.frontends[index].flush {
            if in_flight {
                return false;
            }
            self.frontends[index].flush = None;
            let result = self.disk.flush();
            self.respond(index, id, result.is_ok());
            return true;
        }
        if self.frontends.iter().any(|f| f.live && f.flush.is_some()) {
            return false;
        }
        let Some(free) = self.tags.iter().position(|t| t.busy.is_none()) else {
            return false;
        };
        let shared = self.frontends[index].shared();
        let Some(request) = self.frontends[index].ring.take(shared) else {
            return false;
        };
        let valid = match request.validate(self.frontends[index].sectors) {
            Ok(valid) => valid,
            Err(why) => {
                self.disconnect(index, why);
                return false;
            }
        };
        self.taken += 1;
        self.misbehave();
        if let Err(why) = self.start(index, free, valid) {
            self.disconnect(index, why);
        }
        true
    }

    /// What the options ask for once a request is taken.
    fn misbehave(&mut self) {
        if self.options.crash_after == Some(self.taken) {
            println!("crashing with requests in flight");
            // SAFETY: deliberately raises #UD with no handler: the
            // hypervisor stops this domain and restarts it.
            unsafe { core::arch::asm!("ud2") };
        }
        if self.options.hang_after == Some(self.taken) {
            println!("hanging with requests in flight");
            loop {
                core::hint::spin_loop();
            }
        }
    }

    /// Starts request `valid` of frontend `index` on tag `free`.
    fn start(&mut self, index: usize, free: usize, valid: Valid) -> Result<(), RingError> {
        let frontend_id = self.frontends[index].id;
        match valid.operation {
            Operation::Flush => {
                self.frontends[index].flush = Some(valid.id);
                Ok(())
            }
            Operation::GetId => {
                let id = device_id(frontend_id);
                let segment = valid.segment[0];
                grant::copy_to(
                    frontend_id,
                    GrantRef::from_raw(u64::from(segment.reference)),
                    u64::from(segment.offset),
                    &id[..usize::from(segment.len)],
                )
                .map_err(|_| RingError::BadReference)?;
                self.respond(index, valid.id, true);
                Ok(())
            }
            Operation::Read | Operation::Write => {
                let write = valid.operation == Operation::Write;
                let tag = &mut self.tags[free];
                let bytes = valid.bytes as usize;
                if write {
                    grant_batch::copy_from(
                        frontend_id,
                        &pieces(&valid)[..valid.count],
                        &mut tag.buffer[..bytes],
                    )
                    .map_err(|_| RingError::BadReference)?;
                }
                let sector = self.frontends[index].first_sector + valid.sector;
                // SAFETY: the tag's header, buffer and response stay
                // untouched until `finish` with this token (`complete`).
                let started = unsafe {
                    self.disk.start(
                        write,
                        sector,
                        tag.request,
                        &mut tag.buffer[..bytes],
                        tag.response,
                    )
                };
                match started {
                    Ok(token) => {
                        tag.token = token;
                        tag.busy = Some((index, valid));
                        let busy = self.tags.iter().filter(|t| t.busy.is_some()).count();
                        self.most_in_flight = self.most_in_flight.max(busy);
                    }
                    Err(_) => self.respond(index, valid.id, false),
                }
                Ok(())
            }
        }
    }

    /// Completes what the device finished.
    fn complete(&mut self) {
        self.disk.take_interrupt();
        while let Some(token) = self.disk.completed() {
            let Some(at) = self
                .tags
                .iter()
                .position(|t| t.busy.is_some() && t.token == token)
            else {
                panic!("the device completed token {token}, which is not in flight");
            };
            let Some((index, valid)) = self.tags[at].busy.take() else {
                continue;
            };
            let write = valid.operation == Operation::Write;
            let bytes = valid.bytes as usize;
            let tag = &mut self.tags[at];
            // SAFETY: the buffers `start` gave the device for `token`.
            let done = unsafe {
                self.disk.finish(
                    write,
                    token,
                    tag.request,
                    &mut tag.buffer[..bytes],
                    tag.response,
                )
            }
            .is_ok();
            let Some(frontend) = self.frontends.get(index).filter(|f| f.live) else {
                continue;
            };
            let frontend_id = frontend.id;
            if done
                && !write
                && grant_batch::copy_to(
                    frontend_id,
                    &pieces(&valid)[..valid.count],
                    &tag.buffer[..bytes],
                )
                .is_err()
            {
                self.disconnect(index, RingError::BadReference);
                continue;
            }
            match lies::for_sector(valid.sector).filter(|_| self.options.lie) {
                Some(lie) => self.lie(index, valid.id, lie),
                None => self.respond(index, valid.id, done),
            }
        }
    }

    fn respond(&mut self, index: usize, id: u64, ok: bool) {
        let frontend = &mut self.frontends[index];
        let shared = frontend.shared();
        let result = if ok { status::OK } else { status::IO_ERROR };
        frontend.ring.respond(shared, id, result);
        let _ = events::send(frontend.port);
    }

    /// Answers request `id` of frontend `index` with `lie` ([`Options::lie`]).
    fn lie(&mut self, index: usize, id: u64, lie: Lie) {
        let frontend = &mut self.frontends[index];
        let shared = frontend.shared();
        let page = core::ptr::NonNull::new(frontend.mapping.view() as *mut blkif::Ring)
            .expect("mapped window");
        // SAFETY: the frontend is live, so its ring page is mapped
        // writable at its view, the page `shared` is a view of.
        unsafe { lies::tell(lie, &mut frontend.ring, shared, page, id) };
        let _ = events::send(frontend.port);
    }
}

/// Whether domain `id` is alive: a port can still be allocated for it
/// (`BAD_PORT` names no live domain; any other refusal, such as this
/// domain's own port table being full, tells nothing, and counts as
/// alive).
fn domain_alive(id: u32) -> bool {
    match events::alloc_unbound(id) {
        Ok(port) => {
            let _ = events::close(port);
            true
        }
        Err(status) => status != shared_abi::Status::BadPort,
    }
}

/// The stretches of granted pages a request's data lies in, in order
/// (the first `valid.count`).
fn pieces(valid: &Valid) -> [Piece; MAX_SEGMENTS] {
    core::array::from_fn(|n| {
        let segment = valid.segment[n];
        Piece::new(
            GrantRef::from_raw(u64::from(segment.reference)),
            segment.offset,
            segment.len,
        )
    })
}

const _: () = assert!(grant_batch::BATCH >= MAX_SEGMENTS);

/// The device identifier a frontend reads: `pvhv-disk-N` (its domain id),
/// zero-padded.
fn device_id(frontend: u32) -> [u8; blkif::ID_BYTES as usize] {
    let mut id = [0u8; blkif::ID_BYTES as usize];
    id[..10].copy_from_slice(b"pvhv-disk-");
    let mut digits = [0u8; 10];
    let (mut n, mut count) = (frontend, 0);
    loop {
        digits[count] = b'0' + (n % 10) as u8;
        count += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for (place, digit) in digits[..count].iter().rev().enumerate() {
        id[10 + place] = *digit;
    }
    id
}

/// Bytes of a sector (for the region arithmetic).
const _: () = assert!(SECTOR as u64 == blkif::SECTOR);
