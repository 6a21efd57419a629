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
use crate::mm::address::GuestPhysAddr;
use crate::mm::guest_memory::{self, GuestPhysMemory};

/// Largest request served, in bytes.
pub const MAX_REQUEST_BYTES: u64 = 256 * 1024;

/// A domain's registered queue and its region of the disk.
#[derive(Debug)]
pub struct BlockQueue {
    descriptors: GuestPhysAddr,
    available: GuestPhysAddr,
    used: GuestPhysAddr,
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
    if domain.disk().sectors == 0 {
        return Err(Status::NotReady);
    }
    let layout = Layout {
        size: u16::try_from(size).map_err(|_| Status::InvalidArgument)?,
    };
    let memory = domain.memory().ok_or(Status::InvalidArgument)?;
    let fits = |addr: u64, bytes: u64, align: u64| {
        addr.is_multiple_of(align)
            && addr
                .checked_add(bytes)
                .is_some_and(|end| end <= memory.size())
    };
    if !layout.is_valid()
        || !fits(descriptors, layout.descriptor_table_bytes(), 16)
        || !fits(available, layout.available_bytes(), 2)
        || !fits(used, layout.used_bytes(), 4)
    {
        return Err(Status::InvalidArgument);
    }
    let used = GuestPhysAddr(used);
    let _ = guest_memory::write(
        memory,
        GuestPhysAddr(used.as_u64() + Layout::USED_IDX),
        &0u16.to_le_bytes(),
    );
    let queue = BlockQueue {
        descriptors: GuestPhysAddr(descriptors),
        available: GuestPhysAddr(available),
        used,
        layout,
        last_available: guest_memory::read_u16(
            memory,
            GuestPhysAddr(available + Layout::AVAILABLE_IDX),
        )
        .unwrap_or(0),
        used_index: 0,
    };
    domain.disk_mut().queue = Some(queue);
    Ok(())
}

/// Serves every request the domain has made available. Returns a line to
/// report if the queue had to be disconnected.
pub fn service(domain: &mut Domain, bounce: &mut Vec<u8>) -> Option<&'static str> {
    let mut queue = domain.disk_mut().queue.take()?;
    let memory = domain.memory()?;
    let available = guest_memory::read_u16(
        memory,
        GuestPhysAddr(queue.available.as_u64() + Layout::AVAILABLE_IDX),
    )?;
    let pending = available.wrapping_sub(queue.last_available);
    if pending > queue.layout.size {
        return Some("the available index moved further than the queue holds");
    }
    let old_used = queue.used_index;
    while queue.last_available != available {
        let slot = GuestPhysAddr(
            queue.available.as_u64() + queue.layout.available_slot(queue.last_available),
        );
        let head = guest_memory::read_u16(memory, slot)?;
        let mut chain = request::Chain::new();
        let parsed = request::read_chain(
            memory,
            queue.descriptors,
            queue.layout.size,
            head,
            &mut chain,
        )
        .and_then(|()| request::parse(memory, head, chain.as_slice()));
        let (status_at, written, status) = match parsed {
            Ok(request) => {
                let (status, written) =
                    execute(domain.id(), domain.disk(), memory, &request, bounce);
                (request.status, written, status)
            }
            Err(ChainError::Malformed(why)) => return Some(why),
            Err(ChainError::Unsupported(_)) => return Some("a request has an unknown type"),
            Err(ChainError::OutsideMemory) => {
                return Some("a buffer lies outside the domain's memory");
            }
            Err(ChainError::TooLong) => return Some("a descriptor chain loops or is too long"),
            Err(ChainError::IndexOutOfRange(_)) => {
                return Some("a descriptor index is outside the queue");
            }
            Err(ChainError::Indirect) => return Some("indirect descriptors are not offered"),
        };
        let _ = guest_memory::write_scalar(memory, status_at, status as u8);
        let used_slot =
            GuestPhysAddr(queue.used.as_u64() + queue.layout.used_slot(queue.used_index));
        // The used element: the head's id, then the bytes written (two
        // 4-byte fields; the ring is only 4-aligned).
        let _ = guest_memory::write_scalar(memory, used_slot, u32::from(head));
        let length_at = GuestPhysAddr(used_slot.as_u64() + 4);
        let _ = guest_memory::write_scalar(memory, length_at, written + 1);
        queue.used_index = queue.used_index.wrapping_add(1);
        queue.last_available = queue.last_available.wrapping_add(1);
    }
    let used_idx = GuestPhysAddr(queue.used.as_u64() + Layout::USED_IDX);
    let _ = guest_memory::write_scalar(memory, used_idx, queue.used_index);
    let avail_event = GuestPhysAddr(queue.used.as_u64() + queue.layout.avail_event());
    let _ = guest_memory::write_scalar(memory, avail_event, queue.last_available);
    let used_event = guest_memory::read_u16(
        memory,
        GuestPhysAddr(queue.available.as_u64() + queue.layout.used_event()),
    )
    .unwrap_or(0);
    let notify = queue.used_index != old_used && need_event(used_event, queue.used_index, old_used);
    domain.disk_mut().queue = Some(queue);
    if notify {
        domain.raise_virq(Virq::Block);
    }
    None
}

/// The hypervisor's pointer to `[addr, addr + len)` of guest memory as one
/// run, when the frames behind it are consecutive in machine memory.
fn contiguous(memory: &impl GuestPhysMemory, addr: GuestPhysAddr, len: usize) -> Option<*mut u8> {
    let end = addr.checked_add(len as u64)?;
    if len == 0 || end.as_u64() > memory.size() {
        return None;
    }
    let first = memory.frame_ptr(addr.frame())?;
    let last_frame = GuestPhysAddr(end.as_u64() - 1).frame();
    for (step, frame) in (addr.frame().number()..=last_frame.number()).enumerate() {
        let expected = first.wrapping_add(step * 4096);
        if memory.frame_ptr(crate::mm::address::GuestFrame(frame)) != Some(expected) {
            return None;
        }
    }
    Some(first.wrapping_add(addr.page_offset() as usize))
}

/// Carries out one request; returns its status and the bytes written into
/// the guest's buffers.
fn execute(
    domain_id: u32,
    disk: &DomainDisk,
    memory: &impl GuestPhysMemory,
    request: &BlockRequest,
    bounce: &mut Vec<u8>,
) -> (BlockStatus, u32) {
    match request.kind {
        BlockRequestType::Flush => match disk::with(|device| device.flush()) {
            Some(Ok(())) => (BlockStatus::Ok, 0),
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
                .is_some_and(|end| end <= disk.sectors);
            if !inside || request.data_len > MAX_REQUEST_BYTES {
                return (BlockStatus::IoError, 0);
            }
            let physical = (disk.first_sector + request.sector) as usize;
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
                    BlockRequestType::In => {
                        disk::with(|device| device.read_blocks(physical, direct))
                    }
                    _ => disk::with(|device| device.write_blocks(physical, direct)),
                };
                let written = if request.kind == BlockRequestType::In {
                    request.data_len as u32
                } else {
                    0
                };
                return match done {
                    Some(Ok(())) => (BlockStatus::Ok, written),
                    _ => (BlockStatus::IoError, 0),
                };
            }
            bounce.resize(request.data_len as usize, 0);
            if request.kind == BlockRequestType::In {
                if disk::with(|device| device.read_blocks(physical, bounce)) != Some(Ok(())) {
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
                match disk::with(|device| device.write_blocks(physical, bounce)) {
                    Some(Ok(())) => (BlockStatus::Ok, 0),
                    _ => (BlockStatus::IoError, 0),
                }
            }
        }
    }
}
