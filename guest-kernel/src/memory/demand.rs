//! Demand-paged regions: virtual ranges that start unmapped and get a fresh
//! zeroed frame on first touch, from the guest's own page-fault handler.

use shared_abi::trap::ExceptionFrame;
use spin::Mutex;

use super::frames;
use super::paging::{self, PageFlags, PageSize};

const MAX_REGIONS: usize = 8;
const PAGE: u64 = 4096;

static REGIONS: Mutex<[(u64, u64); MAX_REGIONS]> = Mutex::new([(0, 0); MAX_REGIONS]);
static FAULTS_SERVED: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Declares `[start, start + len)` demand-paged (writable, not executable).
pub fn add_region(start: u64, len: u64) -> bool {
    let mut regions = REGIONS.lock();
    match regions.iter_mut().find(|r| r.1 == 0) {
        Some(slot) => {
            *slot = (start, start + len);
            true
        }
        None => false,
    }
}

/// Page faults this module has resolved.
pub fn faults_served() -> u64 {
    FAULTS_SERVED.load(core::sync::atomic::Ordering::Relaxed)
}

/// Tries to resolve a not-present fault in a demand region: maps a fresh
/// frame and returns `true` (the faulting access is then retried).
pub fn handle(frame: &ExceptionFrame) -> bool {
    handle_in(frame, paging::current_root())
}

/// [`handle`], mapping the page in the tables at `root`: the kernel's own,
/// for a fault taken in a process's address space (whose top-level
/// entries for kernel memory are copies: a new mapping belongs beneath
/// them, in the tables every space shares).
pub fn handle_in(frame: &ExceptionFrame, root: u64) -> bool {
    let address = frame.fault_address;
    let not_present = frame.error_code & 1 == 0;
    let inside = REGIONS
        .lock()
        .iter()
        .any(|&(start, end)| (start..end).contains(&address));
    if !not_present || !inside {
        return false;
    }
    let Some(phys) = frames::allocate() else {
        return false;
    };
    let page = address & !(PAGE - 1);
    let flags = PageFlags::WRITABLE | PageFlags::NO_EXECUTE;
    if paging::map(root, page, phys, PageSize::Size4K, flags).is_err() {
        frames::free(phys);
        return false;
    }
    FAULTS_SERVED.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    true
}
