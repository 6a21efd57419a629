//! The block backend: one virtqueue per domain, served from the domain's
//! region of the physical disk at scheduling points.
//!
//! Everything the guest wrote is read once and checked (see
//! [`super::request`]). A request that is well formed but wrong (outside
//! the virtual disk, too large) completes with an I/O error; a queue whose
//! indices or chains cannot be trusted (an available index that jumps
//! further than the queue, a loop, a buffer outside guest memory) is
//! disconnected and reported once. Completions are signalled on the block
//! VIRQ, suppressed by the guest's `used_event` (event index).

use alloc::vec::Vec;

use shared_abi::Status;
use shared_abi::event::Virq;
use shared_abi::virtqueue::{
    BLOCK_ID_BYTES, BlockRequestType, BlockStatus, Layout, SECTOR_SIZE, need_event,
};

use super::disk;
use super::request::{self, BlockRequest, ChainError};
use crate::domain::Domain;
use crate::mm::address::{GuestFrame, GuestPhysAddr, PAGE_SIZE};
use crate::mm::guest_memory::{self, GuestPhysMemory};
use crate::mm::guest_span::{GuestSpan, SpanLocation};

/// Largest request served, in bytes.
pub const MAX_REQUEST_BYTES: u64 = 256 * 1024;

/// A domain's registered queue and its region of the disk.
#[derive(Debug)]
pub struct BlockQueue {
    /// The descriptor table, the available and the used ring, located at
    /// setup (they lie in the domain's memory, which never moves; the
    /// queue goes before the memory when the domain ends).
    descriptors: SpanLocation,
    available: SpanLocation,
    used: SpanLocation,
    layout: Layout,
    last_available: u16,
    used_index: u16,
}

/// A domain's virtual disk.
#[derive(Debug, Default)]
pub struct DomainDisk {
    /// First physical sector of the domain's region.
    pub first_sector: u64,
    /// Sectors in the region (0: no disk).
    pub sectors: u64,
    /// The queue, once registered (and while not disconnected).
    pub queue: Option<BlockQueue>,
}

/// `block_queue_setup(descriptors, available, used, size)`.
pub fn setup(
    domain: &mut Domain,
    descriptors: u64,
    available: u64,
    used: u64,
    size: u64,
) -> Result<(), Status> {
    // With a driver domain the region is its backend's to serve.
    if domain.disk().sectors == 0 || !super::disk::present() {
        return Err(Status::NotReady);
    }
    let layout = Layout {
        size: u16::try_from(size).map_err(|_| Status::InvalidArgument)?,
    };
    let memory = domain.memory().ok_or(Status::InvalidArgument)?;
    let span = |addr: u64, bytes: u64, align: u64| {
        addr.is_multiple_of(align)
            .then(|| GuestSpan::new(memory, GuestPhysAddr(addr), bytes))
            .flatten()
            .ok_or(Status::InvalidArgument)
    };
    if !layout.is_valid() {
        return Err(Status::InvalidArgument);
    }
    let table = span(descriptors, layout.descriptor_table_bytes(), 16)?;
    let available = span(available, layout.available_bytes(), 2)?;
    let used = span(used, layout.used_bytes(), 4)?;
    let _ = used.write(Layout::USED_IDX, 0u16);
    let queue = BlockQueue {
        descriptors: table.location(),
        available: available.location(),
        used: used.location(),
        layout,
        last_available: available.read(Layout::AVAILABLE_IDX).unwrap_or(0),
        used_index: 0,
    };
    domain.disk_mut().queue = Some(queue);
    Ok(())
}

/// The backend's working memory, kept from request to request: a chain's
/// descriptors and a bounce buffer for requests whose guest buffers are
/// not contiguous in machine memory.
pub struct Scratch {
    chain: request::Chain,
    bounce: Vec<u8>,
}

impl Scratch {
    /// Empty working memory.
    pub const fn new() -> Self {
        Self {
            chain: request::Chain::new(),
            bounce: Vec::new(),
        }
    }
}

/// Serves every request the domain has made available. Returns a line to
/// report if the queue had to be disconnected.
pub fn service(domain: &mut Domain, scratch: &mut Scratch) -> Option<&'static str> {
    let id = domain.id();
    let (disk, memory) = domain.disk_and_memory();
    let region = (disk.first_sector, disk.sectors);
    let queue = disk.queue.as_mut()?;
    let mut served = 0;
    let outcome = serve(queue, memory?, region, id, scratch, &mut served);
    domain.counters_mut().block_requests(served);
    match outcome {
        Ok(false) => None,
        Ok(true) => {
            domain.raise_virq(Virq::Block);
            None
        }
        Err(why) => {
            domain.disk_mut().queue = None;
            Some(why)
        }
    }
}

/// Serves the queue's available requests from the disk region
/// `(first_sector, sectors)`, counting them in `served`; returns whether
/// the guest asked to be notified of these completions, or why the queue
/// cannot be trusted.
fn serve<M: GuestPhysMemory>(
    queue: &mut BlockQueue,
    memory: &M,
    region: (u64, u64),
    domain_id: u32,
    scratch: &mut Scratch,
    served: &mut u64,
) -> Result<bool, &'static str> {
    let Scratch { chain, bounce } = scratch;
    let layout = queue.layout;
    let outside = "the queue lies outside the domain's memory";
    // SAFETY: the locations were found in this domain's memory at setup,
    // and its frames never move while it lives (the queue is dropped
    // before the memory when it ends).
    let (table, available_ring, used_ring) = unsafe {
        (
            GuestSpan::at_location(memory, queue.descriptors),
            GuestSpan::at_location(memory, queue.available),
            GuestSpan::at_location(memory, queue.used),
        )
    };
    let available: u16 = available_ring.read(Layout::AVAILABLE_IDX).ok_or(outside)?;
    let pending = available.wrapping_sub(queue.last_available);
    if pending > layout.size {
        return Err("the available index moved further than the queue holds");
    }
    let old_used = queue.used_index;
    while queue.last_available != available {
        let head: u16 = available_ring
            .read(layout.available_slot(queue.last_available))
            .ok_or(outside)?;
        let request = match request::read_request(memory, &table, layout.size, head, chain) {
            Ok(request) => request,
            Err(ChainError::Malformed(why)) => return Err(why),
            Err(ChainError::Unsupported(_)) => return Err("a request has an unknown type"),
            Err(ChainError::OutsideMemory) => {
                return Err("a buffer lies outside the domain's memory");
            }
            Err(ChainError::TooLong) => return Err("a descriptor chain loops or is too long"),
            Err(ChainError::IndexOutOfRange(_)) => {
                return Err("a descriptor index is outside the queue");
            }
            Err(ChainError::Indirect) => return Err("indirect descriptors are not offered"),
        };
        let (status, written) = execute(domain_id, region, memory, &request, bounce);
        let _ = guest_memory::write_scalar(memory, request.status, status as u8);
        // The used element: the head's id, then the bytes written (two
        // 4-byte fields; the ring is only 4-aligned).
        let slot = layout.used_slot(queue.used_index);
        let _ = used_ring.write(slot, u32::from(head));
        let _ = used_ring.write(slot + 4, written + 1);
        queue.used_index = queue.used_index.wrapping_add(1);
        queue.last_available = queue.last_available.wrapping_add(1);
        *served += 1;
    }
    let _ = used_ring.write(Layout::USED_IDX, queue.used_index);
    let _ = used_ring.write(layout.avail_event(), queue.last_available);
    let used_event: u16 = available_ring.read(layout.used_event()).unwrap_or(0);
    Ok(queue.used_index != old_used && need_event(used_event, queue.used_index, old_used))
}

/// The hypervisor's pointer to `[addr, addr + len)` of guest memory as one
/// run, when the frames behind it are consecutive in machine memory.
fn contiguous(memory: &impl GuestPhysMemory, addr: GuestPhysAddr, len: usize) -> Option<*mut u8> {
    let end = addr.checked_add(len as u64)?;
    if len == 0 || end.as_u64() > memory.size() {
        return None;
    }
    let first_frame = addr.frame().number();
    let first = memory.frame_ptr(addr.frame())?;
    let last_frame = GuestPhysAddr(end.as_u64() - 1).frame().number();
    for frame in first_frame + 1..=last_frame {
        let expected = first.wrapping_add(((frame - first_frame) * PAGE_SIZE) as usize);
        if memory.frame_ptr(GuestFrame(frame)) != Some(expected) {
            return None;
        }
    }
    Some(first.wrapping_add(addr.page_offset() as usize))
}

/// Carries out one request; returns its status and the bytes written into
/// the guest's buffers.
fn execute(
    domain_id: u32,
    (first_sector, region_sectors): (u64, u64),
    memory: &impl GuestPhysMemory,
    request: &BlockRequest,
    bounce: &mut Vec<u8>,
) -> (BlockStatus, u32) {
    match request.kind {
        BlockRequestType::Flush => match disk::flush() {
            Ok(()) => (BlockStatus::Ok, 0),
            _ => (BlockStatus::IoError, 0),
        },
        BlockRequestType::GetId => {
            let mut id = [0u8; BLOCK_ID_BYTES];
            let text = alloc::format!("pvhv-disk-{domain_id}");
            id[..text.len().min(BLOCK_ID_BYTES)]
                .copy_from_slice(&text.as_bytes()[..text.len().min(BLOCK_ID_BYTES)]);
            // Across the data buffers: the first may be shorter than the id.
            match request.fill_data(memory, &id) {
                Ok(written) => (BlockStatus::Ok, written),
                Err(_) => (BlockStatus::IoError, 0),
            }
        }
        BlockRequestType::In | BlockRequestType::Out => {
            let sectors = request.data_len / SECTOR_SIZE;
            let inside = request
                .sector
                .checked_add(sectors)
                .is_some_and(|end| end <= region_sectors);
            if !inside || request.data_len > MAX_REQUEST_BYTES {
                return (BlockStatus::IoError, 0);
            }
            let physical = first_sector + request.sector;
            if let Some(segment) = request.single_segment()
                && let Some(start) = contiguous(memory, segment.addr, segment.len as usize)
            {
                // SAFETY: `start` begins `segment.len` bytes of the domain's
                // own frames, consecutive in the direct map (checked by
                // `contiguous`); the guest cannot run while the device uses them.
                let direct =
                    unsafe { core::slice::from_raw_parts_mut(start, segment.len as usize) };
                // Zero copy: the device reads or writes the guest's frames.
                let done = match request.kind {
                    BlockRequestType::In => disk::read(physical, direct),
                    _ => disk::write(physical, direct),
                };
                let written = if request.kind == BlockRequestType::In {
                    request.data_len as u32
                } else {
                    0
                };
                return match done {
                    Ok(()) => (BlockStatus::Ok, written),
                    _ => (BlockStatus::IoError, 0),
                };
            }
            bounce.resize(request.data_len as usize, 0);
            if request.kind == BlockRequestType::In {
                if disk::read(physical, bounce).is_err() {
                    return (BlockStatus::IoError, 0);
                }
                match request.fill_data(memory, bounce) {
                    Ok(written) => (BlockStatus::Ok, written),
                    Err(_) => (BlockStatus::IoError, 0),
                }
            } else {
                let mut offset = 0usize;
                for segment in request.data() {
                    let end = offset + segment.len as usize;
                    if guest_memory::read(memory, segment.addr, &mut bounce[offset..end]).is_err() {
                        return (BlockStatus::IoError, 0);
                    }
                    offset = end;
                }
                match disk::write(physical, bounce) {
                    Ok(()) => (BlockStatus::Ok, 0),
                    _ => (BlockStatus::IoError, 0),
                }
            }
        }
    }
}
