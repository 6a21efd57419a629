//! The guest heap: `talc` over a demand-paged virtual region, so heap pages
//! are mapped by the guest's page-fault handler the first time they are
//! touched.

use talc::TalcLock;
use talc::source::Claim;

/// Where the heap lives (its own top-level slot).
pub const HEAP_START: u64 = 0x0000_2000_0000_0000;
/// Heap size.
pub const HEAP_SIZE: u64 = 4 << 20;

#[global_allocator]
static ALLOCATOR: TalcLock<spin::Mutex<()>, Claim> = TalcLock::new(
    // SAFETY: the region belongs to the heap alone; it is mapped on demand
    // by `demand::handle` once `init` has registered it.
    unsafe { Claim::new(HEAP_START as *mut u8, HEAP_SIZE as usize) },
);

/// Registers the heap region for demand paging. Call after installing a
/// page-fault handler that calls [`super::demand::handle`].
pub fn init() {
    super::demand::add_region(HEAP_START, HEAP_SIZE);
}
