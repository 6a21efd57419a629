//! The block frontend. Two transports behind one API: when a driver
//! domain serves the disk (`backend_domain(Block)` answers), the grant
//! transport of [`block_grant`] (a ring in a page
//! granted to the backend, data pages granted per request, requests that
//! time out or are failed on a disconnection instead of hanging);
//! otherwise one virtio split virtqueue in guest memory, shared with the
//! hypervisor's backend, carrying virtio-blk requests.
//!
//! Requests are submitted asynchronously ([`submit`]) and several may be in
//! flight; completions arrive on the block VIRQ and are collected with
//! [`wait`]. [`read`], [`write()`] and [`flush`] are the synchronous wrappers
//! most callers want. Buffers are guest-physical and must be contiguous in
//! guest-physical memory (a frame from
//! [`frames`] is); [`disk`](super::disk) reads and
//! writes ordinary byte buffers through a frame of its own.
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

use core::sync::atomic::{AtomicBool, AtomicU16, Ordering, fence};

use spin::{Mutex, Once};

use super::block_grant;
use super::interrupts;
use super::memory::{frames, phys_to_virt};
use crate::event::Virq;
use crate::guest as hv;
use crate::virtqueue::{
    BlockRequestHeader, BlockRequestType, BlockStatus, DESC_F_NEXT, DESC_F_WRITE, Descriptor,
    Layout, SECTOR_SIZE, need_event,
};

pub use super::block_request::{BlockError, MAX_IN_FLIGHT, QUEUE_SIZE, Ticket};

struct Queue {
    /// Added to a guest-physical address of the queue's pages gives the
    /// address they are mapped at (found once, at [`init`]).
    virtual_offset: u64,
    descriptors: u64,
    available: u64,
    used: u64,
    /// Per request slot: its header and status live in this page.
    scratch: u64,
    next_available: u16,
    last_used: u16,
    free: [bool; MAX_IN_FLIGHT],
    done: [Option<u8>; MAX_IN_FLIGHT],
    /// Per slot: whether its header descriptor links to its data
    /// descriptor (a read or write) rather than straight to its status (a
    /// flush).
    links_data: [bool; MAX_IN_FLIGHT],
}

static QUEUE: Once<Mutex<Queue>> = Once::new();
static PORT: AtomicU16 = AtomicU16::new(0);
/// Whether [`init`] chose the grant transport.
static GRANT: AtomicBool = AtomicBool::new(false);

impl Queue {
    /// Where guest-physical `phys`, inside the queue's pages, is mapped.
    fn at<T>(&self, phys: u64) -> *mut T {
        (phys + self.virtual_offset) as *mut T
    }

    /// The guest-physical addresses of request slot `slot`'s header and
    /// status byte.
    fn slot_areas(&self, slot: usize) -> (u64, u64) {
        let header_at = self.scratch + 64 * slot as u64;
        (header_at, header_at + 32)
    }

    fn write_descriptor(&self, index: u16, descriptor: Descriptor) {
        let at = self.descriptors + 16 * u64::from(index);
        // SAFETY: the descriptor table is this driver's page.
        unsafe { self.at::<Descriptor>(at).write(descriptor) };
    }

    /// Writes slot `slot`'s header descriptor, linked to its data
    /// descriptor or (for a request without data) to its status.
    fn write_header(&mut self, slot: usize, to_data: bool) {
        let first = 3 * slot as u16;
        let (header_at, _) = self.slot_areas(slot);
        self.write_descriptor(
            first,
            Descriptor {
                addr: header_at,
                len: 16,
                flags: DESC_F_NEXT,
                next: first + if to_data { 1 } else { 2 },
            },
        );
        self.links_data[slot] = to_data;
    }
}

/// Connects to the disk; returns its size in 512-byte sectors. Call it
/// once. With a block backend in a driver domain this is the grant
/// transport (waiting up to [`INITIAL_WAIT_NS`] for the backend when the
/// disk is a driver domain's and its backend is not up yet); otherwise
/// the queue to the hypervisor's backend (four frames and the block VIRQ).
///
/// # Errors
///
/// [`BlockError::NoDisk`] when the domain has no disk (`block_info` is 0),
/// the block VIRQ cannot be bound (already bound, or before
/// [`interrupts::init`]), no frame is left, `block_queue_setup` fails, or
/// no backend answers.
pub fn init() -> Result<u64, BlockError> {
    let sectors = hv::devices::block_info();
    if sectors == 0 {
        return Err(BlockError::NoDisk);
    }
    block_grant::watch();
    if hv::backend::domain(crate::backend::Kind::Block).is_err() {
        match init_queue() {
            Err(crate::Status::NotReady) => {
                // The disk is a driver domain's: wait for its backend.
                let deadline = interrupts::now_ns().saturating_add(INITIAL_WAIT_NS);
                if !block_grant::wait_for_backend(deadline) {
                    return Err(BlockError::NoDisk);
                }
            }
            Err(_) => return Err(BlockError::NoDisk),
            Ok(()) => return Ok(sectors),
        }
    }
    block_grant::init(sectors)?;
    GRANT.store(true, Ordering::SeqCst);
    Ok(sectors)
}

/// How long [`init`] waits for a driver domain's block backend to appear:
/// 30 s of virtual time.
pub const INITIAL_WAIT_NS: u64 = 30_000_000_000;

/// Sets up the queue to the hypervisor's backend.
fn init_queue() -> Result<(), crate::Status> {
    let page = || frames::allocate().ok_or(crate::Status::LimitReached);
    let (descriptors, available, used, scratch) = (page()?, page()?, page()?, page()?);
    hv::devices::block_queue_setup(descriptors, available, used, QUEUE_SIZE)?;
    let port = interrupts::bind_virq(Virq::Block, |_| {})?;
    PORT.store(port as u16, Ordering::SeqCst);
    QUEUE.call_once(|| {
        let mut queue = Queue {
            virtual_offset: phys_to_virt(0) as u64,
            descriptors,
            available,
            used,
            scratch,
            next_available: 0,
            last_used: 0,
            free: [true; MAX_IN_FLIGHT],
            done: [None; MAX_IN_FLIGHT],
            links_data: [true; MAX_IN_FLIGHT],
        };
        // Each slot's header and status descriptors never change (but for
        // the header's link, see `enqueue`).
        for slot in 0..MAX_IN_FLIGHT {
            queue.write_header(slot, true);
            let (_, status_at) = queue.slot_areas(slot);
            queue.write_descriptor(
                3 * slot as u16 + 2,
                Descriptor {
                    addr: status_at,
                    len: 1,
                    flags: DESC_F_WRITE,
                    next: 0,
                },
            );
        }
        Mutex::new(queue)
    });
    Ok(())
}

/// Submits a request on `data` (guest-physical, `len` bytes, a multiple of
/// 512 for reads and writes) without waiting for it; collect it with
/// [`wait`]. Up to [`MAX_IN_FLIGHT`] requests may be in flight.
///
/// # Errors
///
/// [`BlockError::NoDisk`] before [`init`]; [`BlockError::Busy`] with
/// [`MAX_IN_FLIGHT`] requests in flight. Through a driver domain also
/// [`BlockError::Disconnected`] when no backend is there within the
/// timeout, [`BlockError::Length`] for more than 32 KiB, and an I/O error
/// status for sectors outside the disk (not sent).
pub fn submit(
    kind: BlockRequestType,
    sector: u64,
    data: Option<(u64, u32)>,
) -> Result<Ticket, BlockError> {
    if GRANT.load(Ordering::Relaxed) {
        return block_grant::submit(kind, sector, data);
    }
    let queue = QUEUE.get().ok_or(BlockError::NoDisk)?;
    let (ticket, notify_needed) =
        interrupts::without(|| enqueue(&mut queue.lock(), kind, sector, data))?;
    if notify_needed {
        notify();
    }
    Ok(ticket)
}

/// Puts a request in the available ring; returns its ticket and whether
/// the backend asked to be notified.
fn enqueue(
    q: &mut Queue,
    kind: BlockRequestType,
    sector: u64,
    data: Option<(u64, u32)>,
) -> Result<(Ticket, bool), BlockError> {
    let slot = q
        .free
        .iter()
        .position(|free| *free)
        .ok_or(BlockError::Busy)?;
    q.free[slot] = false;
    q.done[slot] = None;
    let (header_at, status_at) = q.slot_areas(slot);
    let header = BlockRequestHeader {
        request_type: kind as u32,
        reserved: 0,
        sector,
    };
    // SAFETY: the scratch page is this driver's; slot areas are disjoint.
    unsafe {
        q.at::<BlockRequestHeader>(header_at).write(header);
        q.at::<u8>(status_at).write_volatile(0xff);
    }
    let first = (3 * slot) as u16;
    // The chain: header, data (if any), status; only the data descriptor,
    // and the header's link when it changes, are written per request.
    if let Some((addr, len)) = data {
        let device_writes = matches!(kind, BlockRequestType::In | BlockRequestType::GetId);
        q.write_descriptor(
            first + 1,
            Descriptor {
                addr,
                len,
                flags: DESC_F_NEXT | if device_writes { DESC_F_WRITE } else { 0 },
                next: first + 2,
            },
        );
    }
    if q.links_data[slot] != data.is_some() {
        q.write_header(slot, data.is_some());
    }
    let layout = Layout { size: QUEUE_SIZE };
    let ring = q.available + layout.available_slot(q.next_available);
    // SAFETY: the available ring is this driver's page.
    unsafe { q.at::<u16>(ring).write_volatile(first) };
    let old = q.next_available;
    q.next_available = q.next_available.wrapping_add(1);
    fence(Ordering::Release);
    // SAFETY: as above; the index is published after the entry.
    unsafe {
        q.at::<u16>(q.available + Layout::AVAILABLE_IDX)
            .write_volatile(q.next_available)
    };
    fence(Ordering::SeqCst);
    // Event index: notify only if the backend asked to hear about this
    // index (otherwise it has yet to see earlier ones and will see this).
    // SAFETY: the used ring is this driver's page; the backend writes it.
    let avail_event = unsafe { q.at::<u16>(q.used + layout.avail_event()).read_volatile() };
    Ok((Ticket(slot), need_event(avail_event, q.next_available, old)))
}

/// Notifies the backend that requests are available ([`submit`] does it
/// when the backend asked to be told).
pub fn notify() {
    let _ = hv::events::send(PORT.load(Ordering::SeqCst) as u32);
}

/// Collects completions from the used ring.
fn reap(q: &mut Queue) {
    let layout = Layout { size: QUEUE_SIZE };
    // SAFETY: the used ring is this driver's page; the backend writes it.
    let used_idx = unsafe { q.at::<u16>(q.used + Layout::USED_IDX).read_volatile() };
    fence(Ordering::Acquire);
    while q.last_used != used_idx {
        // SAFETY: as above.
        let head = unsafe {
            q.at::<u32>(q.used + layout.used_slot(q.last_used))
                .read_volatile()
        };
        let slot = head as usize / 3;
        if slot < MAX_IN_FLIGHT {
            // SAFETY: the scratch page is this driver's.
            let status = unsafe {
                q.at::<u8>(q.scratch + 64 * slot as u64 + 32)
                    .read_volatile()
            };
            q.done[slot] = Some(status);
        }
        q.last_used = q.last_used.wrapping_add(1);
    }
    // No completion notifications while not waiting (event index: an
    // event index just behind never passes).
    // SAFETY: the available ring is this driver's page.
    unsafe {
        q.at::<u16>(q.available + layout.used_event())
            .write_volatile(q.last_used.wrapping_sub(1))
    };
}

/// Asks to be notified at the next completion.
fn arm(q: &Queue) {
    let layout = Layout { size: QUEUE_SIZE };
    // SAFETY: the available ring is this driver's page.
    unsafe {
        q.at::<u16>(q.available + layout.used_event())
            .write_volatile(q.last_used)
    };
}

/// Waits for `ticket` to complete; returns its status.
///
/// # Errors
///
/// [`BlockError::Status`] with the device's status byte;
/// [`BlockError::NoDisk`] before [`init`]. Through a driver domain also
/// [`BlockError::Timeout`] when no response came within
/// [`TIMEOUT_NS`](block_grant::TIMEOUT_NS) of the submission, and
/// [`BlockError::Disconnected`] when the backend went away meanwhile.
pub fn wait(ticket: Ticket) -> Result<(), BlockError> {
    if GRANT.load(Ordering::Relaxed) {
        return block_grant::wait(ticket);
    }
    let queue = QUEUE.get().ok_or(BlockError::NoDisk)?;
    let status = core::cell::Cell::new(None);
    let done = || {
        let mut q = queue.lock();
        reap(&mut q);
        if let Some(done) = collect(&mut q, ticket) {
            status.set(Some(done));
            return true;
        }
        // About to sleep: ask for a notification, then look once more.
        arm(&q);
        reap(&mut q);
        if let Some(done) = collect(&mut q, ticket) {
            status.set(Some(done));
            return true;
        }
        arm(&q);
        false
    };
    interrupts::wait_for_event(done);
    result(status.get())
}

/// The status of `ticket` if it has completed, freeing its slot.
fn collect(q: &mut Queue, ticket: Ticket) -> Option<u8> {
    let status = q.done[ticket.0].take()?;
    q.free[ticket.0] = true;
    Some(status)
}

fn result(status: Option<u8>) -> Result<(), BlockError> {
    match status {
        Some(s) if s == BlockStatus::Ok as u8 => Ok(()),
        Some(s) => Err(BlockError::Status(s)),
        None => Err(BlockError::Status(0xff)),
    }
}

/// Submits a request and waits for it. The backend usually completes a
/// request before the notification returns, so the common case is one
/// critical section: enqueue, notify, collect.
fn run(kind: BlockRequestType, sector: u64, data: Option<(u64, u32)>) -> Result<(), BlockError> {
    if GRANT.load(Ordering::Relaxed) {
        return block_grant::wait(block_grant::submit(kind, sector, data)?);
    }
    let queue = QUEUE.get().ok_or(BlockError::NoDisk)?;
    let (ticket, status) = interrupts::without(|| {
        let mut q = queue.lock();
        let (ticket, notify_needed) = enqueue(&mut q, kind, sector, data)?;
        if notify_needed {
            notify();
        }
        reap(&mut q);
        Ok((ticket, collect(&mut q, ticket)))
    })?;
    match status {
        Some(status) => result(Some(status)),
        None => wait(ticket),
    }
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

/// Sector size in bytes.
pub const SECTOR: u64 = SECTOR_SIZE;
