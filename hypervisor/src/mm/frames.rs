//! The global machine frame allocator, built from the boot memory map.
//!
//! Frames handed out here are zeroed by whoever needs them zeroed
//! ([`allocate_zeroed`] for page tables and guest memory).

use spin::{Mutex, Once};

use super::address::{MachineFrame, PAGE_SIZE};
use super::direct_map::machine_ptr;
use super::frame_allocator::FrameAllocator;

/// Highest machine address managed (the bitmap covers this much).
pub use crate::memory_budget::MAX_MACHINE_MEMORY;
const WORDS: usize = (MAX_MACHINE_MEMORY / PAGE_SIZE / 64) as usize;

static mut BITMAP: [u64; WORDS] = [0; WORDS];
static FRAMES: Once<Mutex<FrameAllocator<'static>>> = Once::new();

/// Builds the allocator: `usable` ranges are freed, then `reserved` ranges
/// (the image, boot data, low memory) are taken back.
pub fn init(usable: impl Iterator<Item = (u64, u64)>, reserved: &[(u64, u64)]) {
    FRAMES.call_once(|| {
        // SAFETY: call_once runs this exactly once, so this is the only
        // reference ever made to BITMAP (taken through a raw pointer, as
        // references to a `static mut` may not be formed directly).
        #[allow(clippy::deref_addrof)]
        let bits = unsafe { &mut *(&raw mut BITMAP) };
        let mut allocator = FrameAllocator::new(bits);
        for (start, end) in usable {
            allocator.add_free_range(start, end);
        }
        for &(start, end) in reserved {
            allocator.reserve_range(start, end);
        }
        Mutex::new(allocator)
    });
}

fn with<R>(f: impl FnOnce(&mut FrameAllocator<'static>) -> R) -> R {
    f(&mut FRAMES
        .get()
        .expect("frame allocator used before init")
        .lock())
}

/// Zeroes `count` frames from `first`, just allocated.
fn zero(first: MachineFrame, count: u64) {
    // SAFETY: the frames were just allocated, so nothing else uses them,
    // and the direct map covers every frame the allocator manages, in
    // machine order.
    unsafe { core::ptr::write_bytes(machine_ptr(first.start()), 0, (count * PAGE_SIZE) as usize) };
}

/// Allocates a zeroed frame.
pub fn allocate_zeroed() -> Option<MachineFrame> {
    let frame = with(|frames| frames.allocate())?;
    zero(frame, 1);
    Some(frame)
}

/// Allocates `count` physically contiguous zeroed frames.
pub fn allocate_contiguous_zeroed(count: u64) -> Option<MachineFrame> {
    let first = allocate_contiguous(count)?;
    zero(first, count);
    Some(first)
}

/// Allocates `count` physically contiguous frames (not zeroed).
pub fn allocate_contiguous(count: u64) -> Option<MachineFrame> {
    with(|frames| frames.allocate_contiguous(count, 1))
}

/// Returns a frame.
pub fn free(frame: MachineFrame) {
    let was_used = with(|frames| frames.deallocate(frame));
    debug_assert!(was_used, "double free of {frame:?}");
}

/// Frames currently free.
pub fn free_frames() -> u64 {
    with(|frames| frames.free_frames())
}
