//! The guest heap: `talc` over a demand-paged virtual region, so heap pages
//! are mapped by the guest's page-fault handler the first time they are
//! touched.
//!
//! The region is sized from the domain's usable memory at [`init`]: three
//! quarters of it, the rest left for what the frame allocator hands out
//! directly (page tables, thread stacks, driver rings and buffers).
//! Because pages are mapped on first touch, a large heap costs nothing
//! until it is used.

use core::sync::atomic::{AtomicU64, Ordering};

use talc::TalcLock;
use talc::source::Manual;

/// Where the heap lives (its own top-level slot).
pub const HEAP_START: u64 = 0x0000_2000_0000_0000;
/// Smallest heap, whatever the memory (a domain smaller than this runs
/// out of frames before its heap fills).
const MIN_HEAP: u64 = 1 << 20;

static SIZE: AtomicU64 = AtomicU64::new(0);

#[global_allocator]
static ALLOCATOR: TalcLock<spin::Mutex<()>, Manual> = TalcLock::new(Manual);

/// Bytes of heap for `usable` bytes of usable memory.
pub const fn size_for(usable: u64) -> u64 {
    let size = (usable / 4 * 3) & !0xfff;
    if size < MIN_HEAP { MIN_HEAP } else { size }
}

/// Registers the heap region for demand paging and hands it to the
/// allocator. Call after `memory::init` and after installing a page-fault
/// handler that calls [`super::demand::handle`].
pub fn init() {
    let size = size_for(super::frames::usable_bytes());
    super::demand::add_region(HEAP_START, size);
    // SAFETY: the region belongs to the heap alone (its own top-level
    // slot) and is mapped on demand by `demand::handle`, registered above.
    let claimed = unsafe { ALLOCATOR.lock().claim(HEAP_START as *mut u8, size as usize) };
    if claimed.is_some() {
        SIZE.store(size, Ordering::Relaxed);
    }
}

/// Bytes of heap.
pub fn size() -> u64 {
    SIZE.load(Ordering::Relaxed)
}
