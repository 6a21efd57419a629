//! Scenario guest: grant tables. `mode=` picks the role, `peer=NAME` the
//! other side (looked up with `domain_lookup`):
//!
//! - `share-granter` / `share-grantee`: a page lent read-write, read and
//!   answered through a mapping and through copies both ways, unmapped and
//!   ended.
//! - `hostile-granter` / `hostile-grantee` / `hostile-third`: every misuse
//!   answers its status (stale, forged and someone else's references,
//!   double maps, writes to read-only grants, copies past the page,
//!   ending a mapped grant, the 64-grant and 32-map limits, bad pages); a
//!   write through a read-only mapping is a page fault this guest handles.
//! - `revoke-granter` (`end=exit` or `end=crash`) / `revoke-grantee`: the
//!   granter ends while its page is mapped; the grantee's next access
//!   faults, and its window slot is empty afterwards.
//! - `orphan-granter` / `orphan-grantee`: the grantee ends while it has the
//!   page mapped; the granter can then end the grant.
//!
//! References are not passed between the two sides: the grantee computes
//! them from the documented rule (lowest free slot, generation 1 for a
//! slot's first grant, one more each time the slot is reused). The sides
//! take turns by polling (with `yield`) a flag word the grantee writes into
//! the granted page.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::memory::paging::{self, PageFlags, PageSize};
use guest_kernel::memory::{frames, phys_to_virt};
use guest_kernel::scenario::{ok, refused};
use guest_kernel::{check, hv, scenario};
use shared_abi::grant::GrantRef;
use shared_abi::trap::ExceptionFrame;

mod hostile;
mod lifetime;
mod share;

entry_point!(main, config = &scenario::MEMORY_CONFIG);

/// Where the grantee maps window pages in its own address space.
const MAPPED_VA: u64 = 0x4100_0000_0000;
/// Offsets in the shared page: the grantee's flag words and text.
const FLAG: usize = 0;
const ACK: usize = 8;
const SECOND: usize = 16;
const SEEN: usize = 24;
const REPLY: usize = 2048;
const COPIED: usize = 3000;
/// How long a side waits for the other, in yields.
const PATIENCE: u64 = 200_000;

/// The page (virtual) whose faults the hook absorbs (0: none).
static WATCHED: AtomicU64 = AtomicU64::new(0);
/// A frame of this guest the watched page is pointed at after a fault.
static SPARE: AtomicU64 = AtomicU64::new(0);
/// Faults absorbed, and the last one's error code.
static FAULTS: AtomicU64 = AtomicU64::new(0);
static FAULT_CODE: AtomicU64 = AtomicU64::new(0);

/// Page faults on the watched page: counted, and the page pointed at a
/// spare frame of this guest so that the access can be retried.
fn on_fault(frame: &mut ExceptionFrame) -> bool {
    let watched = WATCHED.load(Ordering::SeqCst);
    if watched == 0 || frame.fault_address & !0xfff != watched {
        return false;
    }
    FAULTS.fetch_add(1, Ordering::SeqCst);
    FAULT_CODE.store(frame.error_code, Ordering::SeqCst);
    let spare = SPARE.load(Ordering::SeqCst);
    paging::remap(paging::current_root(), watched, spare, PageFlags::WRITABLE).is_ok()
}

fn read(virt: u64) -> u8 {
    // SAFETY: `virt` is in a page this guest mapped (its own memory or a
    // granted page; a fault on the latter is handled by `on_fault`).
    unsafe { (virt as *const u8).read_volatile() }
}

fn write(virt: u64, value: u8) {
    // SAFETY: as in `read`.
    unsafe { (virt as *mut u8).write_volatile(value) }
}

fn read_bytes(virt: u64, out: &mut [u8]) {
    for (index, byte) in out.iter_mut().enumerate() {
        *byte = read(virt + index as u64);
    }
}

fn write_bytes(virt: u64, data: &[u8]) {
    for (index, byte) in data.iter().enumerate() {
        write(virt + index as u64, *byte);
    }
}

/// The byte the granter writes at `offset` of its page.
fn pattern(offset: usize) -> u8 {
    (offset as u8).wrapping_mul(7).wrapping_add(3)
}

/// A fresh frame of this guest, filled with the pattern; returns its
/// guest-physical address.
fn patterned_page() -> u64 {
    let page = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    let virt = phys_to_virt(page) as u64;
    for offset in 0..4096 {
        write(virt + offset as u64, pattern(offset));
    }
    page
}

/// Yields until `done` holds.
pub(crate) fn wait(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..PATIENCE {
        if done() {
            return;
        }
        hv::yield_now();
    }
    scenario::fail(format_args!("gave up waiting for {what}"))
}

/// Waits until the text `text` is at `offset` of the page at `virt`.
fn wait_for_text(virt: u64, offset: usize, text: &[u8]) {
    wait(core::str::from_utf8(text).unwrap_or("?"), || {
        let mut seen = [0u8; 16];
        read_bytes(virt + offset as u64, &mut seen[..text.len()]);
        &seen[..text.len()] == text
    });
}

/// Maps window address `gpa` at virtual `virt` (writable in the guest's
/// own tables: the grant decides).
fn map_window(virt: u64, gpa: u64) {
    let mapped = paging::map(
        paging::current_root(),
        virt,
        gpa,
        PageSize::Size4K,
        PageFlags::WRITABLE,
    );
    check!(mapped.is_ok(), "mapping {gpa:#x} at {virt:#x}: {mapped:?}");
}

/// Waits until grant `reference` of `granter` is usable (a one-byte copy
/// succeeds).
fn wait_for_grant(granter: u32, reference: GrantRef) {
    wait("the grant", || {
        hv::grant::copy_from(granter, reference, 0, &mut [0u8; 1]).is_ok()
    });
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_memory(boot_info, Some(on_fault));
    if let Err(status) = guest_kernel::interrupts::init() {
        scenario::fail(format_args!("interrupts::init: {}", status.name()));
    }
    let spare = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    SPARE.store(spare, Ordering::SeqCst);
    let info = scenario::start_info();
    let args = info.args();
    let peer = scenario::find_domain(scenario::arg(args, "peer").unwrap_or(""));
    match scenario::arg(args, "mode").unwrap_or("") {
        "share-granter" => share::granter(peer),
        "share-grantee" => share::grantee(peer),
        "hostile-granter" => {
            let third = scenario::find_domain(scenario::arg(args, "third").unwrap_or(""));
            hostile::granter(peer, third, info.memory_bytes)
        }
        "hostile-grantee" => hostile::grantee(peer),
        "hostile-third" => hostile::third(peer),
        "revoke-granter" => {
            lifetime::revoke_granter(peer, scenario::arg(args, "end") == Some("crash"))
        }
        "revoke-grantee" => lifetime::revoke_grantee(peer),
        "orphan-granter" => {
            lifetime::orphan_granter(peer, scenario::arg(args, "peer").unwrap_or(""))
        }
        "orphan-grantee" => lifetime::orphan_grantee(peer),
        other => scenario::fail(format_args!("unknown mode '{other}'")),
    }
    scenario::done()
}
