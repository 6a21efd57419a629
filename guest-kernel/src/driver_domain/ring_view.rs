//! Where the driver domain's block backend sees its frontends' ring
//! pages: each granted ring is mapped into the grant window (`grant_map`)
//! and then at a view address of its own in this domain's page tables.
//! (The console server maps nothing: it copies.)
//!
//! A frontend's grant is revoked when its domain ends, possibly while a
//! backend is reading its ring: the page-fault hook ([`on_fault`]) then
//! maps a zeroed spare frame at the view, so that the access completes and
//! the backend finds the frontend gone before it acts on anything read.
//! The window slot of a revoked grant can be handed out again: each
//! mapping is therefore a [`RingMapping`] with a generation, and only the
//! mapping the slot holds now may touch or unmap it.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use shared_abi::Status;
use shared_abi::grant::{GrantRef, WINDOW_BASE};
use shared_abi::guest::grant;
use spin::Mutex;

use crate::memory::paging::{self, PageFlags, PageSize};

/// Where the frontends' ring pages are mapped: the grant window's
/// addresses moved here (`RING_VIEW + window - WINDOW_BASE`).
pub const RING_VIEW: u64 = 0x6100_0000_0000;

/// A zeroed frame put in place of a ring whose grant was revoked.
static SPARE: AtomicU64 = AtomicU64::new(0);

/// The window addresses mapped now, with the generation of each mapping.
static MAPPED: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());
/// The last generation handed out.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// One frontend's ring, mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingMapping {
    window: u64,
    generation: u64,
}

impl RingMapping {
    /// The view address of the ring page.
    pub fn view(&self) -> u64 {
        RING_VIEW + (self.window - WINDOW_BASE)
    }

    /// Whether the window still holds this mapping (its frontend's grant
    /// was not revoked and the slot handed to another since).
    pub fn current(&self) -> bool {
        MAPPED.lock().contains(&(self.window, self.generation))
    }
}

/// Takes a spare frame for [`on_fault`] (once; virtual memory must be set
/// up).
pub fn init() -> Result<(), Status> {
    if SPARE.load(Ordering::SeqCst) == 0 {
        let spare = crate::memory::frames::allocate().ok_or(Status::LimitReached)?;
        SPARE.store(spare, Ordering::SeqCst);
    }
    Ok(())
}

/// The page-fault hook the driver domain installs: a fault on a ring view
/// (its grant revoked because the frontend ended) maps the spare frame
/// there, so the access completes.
pub fn on_fault(frame: &mut shared_abi::trap::ExceptionFrame) -> bool {
    let address = frame.fault_address;
    let spare = SPARE.load(Ordering::SeqCst);
    if spare == 0 || !(RING_VIEW..RING_VIEW + (1 << 32)).contains(&address) {
        return false;
    }
    paging::remap(
        paging::current_root(),
        address & !0xfff,
        spare,
        PageFlags::WRITABLE,
    )
    .is_ok()
}

/// Why a ring could not be mapped.
#[derive(Clone, Copy, Debug)]
pub enum MapError {
    /// `grant_map` refused it.
    Grant(Status),
    /// This domain's page tables did not take it.
    Paging,
}

impl core::fmt::Display for MapError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Grant(status) => write!(f, "ring grant: {}", status.name()),
            Self::Paging => write!(f, "mapping its ring failed"),
        }
    }
}

/// Maps grant `reference` of domain `frontend` (writable) at a view.
pub fn map(frontend: u32, reference: GrantRef) -> Result<RingMapping, MapError> {
    let window = grant::map(frontend, reference, true).map_err(MapError::Grant)?;
    let mapping = RingMapping {
        window,
        generation: GENERATION.fetch_add(1, Ordering::SeqCst) + 1,
    };
    let root = paging::current_root();
    let _ = paging::unmap(root, mapping.view());
    let flags = PageFlags::WRITABLE | PageFlags::NO_EXECUTE;
    if paging::map(root, mapping.view(), window, PageSize::Size4K, flags).is_err() {
        let _ = grant::unmap(window);
        return Err(MapError::Paging);
    }
    let mut mapped = MAPPED.lock();
    // A slot handed out again: whoever held it before lost it.
    mapped.retain(|(held, _)| *held != window);
    mapped.push((window, mapping.generation));
    Ok(mapping)
}

/// Unmaps `mapping`, unless its slot holds another mapping now.
pub fn unmap(mapping: RingMapping) {
    let mut mapped = MAPPED.lock();
    let Some(at) = mapped
        .iter()
        .position(|held| *held == (mapping.window, mapping.generation))
    else {
        return;
    };
    mapped.swap_remove(at);
    let _ = paging::unmap(paging::current_root(), mapping.view());
    let _ = grant::unmap(mapping.window);
}
