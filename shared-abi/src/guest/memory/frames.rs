//! The guest's frame allocator: bump allocation through the usable regions,
//! and a free list threaded through the freed frames themselves.
//!
//! [`super::init`] feeds it the `BootInfo`'s usable regions; before that
//! [`allocate`] returns `None`. Frames are guest-physical addresses, reached
//! through [`super::phys_to_virt`]. The allocator takes a lock: do not
//! allocate from an event handler that may interrupt an allocation (run
//! such code with [`interrupts::without`](crate::guest::interrupts::without)).

use spin::Mutex;

use super::phys_to_virt;

const PAGE: u64 = 4096;
const MAX_REGIONS: usize = 8;

struct Frames {
    regions: [(u64, u64); MAX_REGIONS],
    count: usize,
    current: usize,
    next: u64,
    free_list: u64,
    in_use: u64,
}

static FRAMES: Mutex<Frames> = Mutex::new(Frames {
    regions: [(0, 0); MAX_REGIONS],
    count: 0,
    current: 0,
    next: 0,
    free_list: 0,
    in_use: 0,
});

/// Adds the usable range `[start, end)` (guest-physical; rounded inwards to
/// whole pages). At most 8 ranges are kept; further ones are ignored.
pub fn add_region(start: u64, end: u64) {
    let mut frames = FRAMES.lock();
    let start = start.next_multiple_of(PAGE);
    let end = end & !(PAGE - 1);
    if start < end && frames.count < MAX_REGIONS {
        let index = frames.count;
        frames.regions[index] = (start, end);
        frames.count += 1;
        if index == 0 {
            frames.next = start;
        }
    }
}

/// Allocates a zeroed 4 KiB frame; returns its guest-physical address, or
/// `None` when memory is exhausted (or [`super::init`] was not called).
///
/// ```no_run
/// use shared_abi::guest::memory::{frames, phys_to_virt};
/// let frame = frames::allocate().expect("out of memory");
/// // The frame is zeroed and reachable through the physical-memory mapping.
/// // SAFETY: the frame is ours and mapped at the physical-memory offset.
/// assert_eq!(unsafe { phys_to_virt(frame).read() }, 0);
/// frames::free(frame);
/// ```
pub fn allocate() -> Option<u64> {
    let mut frames = FRAMES.lock();
    let frame = if frames.free_list != 0 {
        let frame = frames.free_list;
        // SAFETY: a frame on the free list holds the address of the next
        // one in its first word, written by `free`.
        frames.free_list = unsafe { phys_to_virt(frame).cast::<u64>().read_volatile() };
        frame
    } else {
        loop {
            if frames.current >= frames.count {
                return None;
            }
            let (_, end) = frames.regions[frames.current];
            if frames.next + PAGE <= end {
                let frame = frames.next;
                frames.next += PAGE;
                break frame;
            }
            frames.current += 1;
            if frames.current < frames.count {
                frames.next = frames.regions[frames.current].0;
            }
        }
    };
    frames.in_use += 1;
    // SAFETY: the frame is usable guest memory no one else holds, mapped
    // at the physical-memory offset.
    unsafe { core::ptr::write_bytes(phys_to_virt(frame), 0, PAGE as usize) };
    Some(frame)
}

/// Returns `frame` (from [`allocate`]) to the allocator. The caller must no
/// longer use it, nor leave it mapped anywhere.
pub fn free(frame: u64) {
    let mut frames = FRAMES.lock();
    // SAFETY: the caller gives up the frame; its first word links the list.
    unsafe {
        phys_to_virt(frame)
            .cast::<u64>()
            .write_volatile(frames.free_list)
    };
    frames.free_list = frame;
    frames.in_use -= 1;
}

/// Bytes in the usable regions.
pub fn usable_bytes() -> u64 {
    let frames = FRAMES.lock();
    frames.regions[..frames.count]
        .iter()
        .map(|(start, end)| end - start)
        .sum()
}

/// Frames currently allocated.
pub fn in_use() -> u64 {
    FRAMES.lock().in_use
}
