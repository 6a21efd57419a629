//! Guest memory: where guest-physical memory is mapped in the guest's own
//! address space, a frame allocator over the memory the `BootInfo` reports
//! usable ([`frames`]), and a helper for the guest's own page tables
//! ([`paging`]).
//!
//! The guest reaches guest-physical memory (its page tables included)
//! through the physical-memory mapping its bootloader config asks for
//! ([`BOOT_CONFIG`](super::entry::BOOT_CONFIG) does). Changing a mapping
//! follows the TLB discipline: the page-table helper invalidates through the
//! `mmu_invalidate_page` hypercall; no privileged instruction is ever used.
//!
//! Order: [`init`] first (the runtime's [`init`](super::init) calls it);
//! every other function here and in the submodules needs it.

pub mod frames;
pub mod paging;

use bootloader_api::BootInfo;
use bootloader_api::info::MemoryRegionKind;
use spin::Once;

static PHYSICAL_OFFSET: Once<u64> = Once::new();

/// Sets up the frame allocator from the usable regions of `boot_info` and
/// records where guest-physical memory is mapped. Calling it again does
/// nothing.
///
/// # Panics
///
/// If the bootloader config did not ask for the physical-memory mapping
/// (`config.mappings.physical_memory`; [`BOOT_CONFIG`](super::entry::BOOT_CONFIG)
/// does).
pub fn init(boot_info: &BootInfo) {
    let offset = boot_info
        .physical_memory_offset
        .into_option()
        .expect("memory::init needs the physical-memory mapping in the bootloader config");
    let mut first = false;
    PHYSICAL_OFFSET.call_once(|| {
        first = true;
        offset
    });
    if !first {
        return;
    }
    for region in boot_info.memory_regions.iter() {
        if region.kind == MemoryRegionKind::Usable {
            frames::add_region(region.start, region.end);
        }
    }
}

/// Bytes of guest-physical memory `boot_info` reports usable.
pub fn usable_bytes(boot_info: &BootInfo) -> u64 {
    boot_info
        .memory_regions
        .iter()
        .filter(|region| region.kind == MemoryRegionKind::Usable)
        .map(|region| region.end - region.start)
        .sum()
}

/// The guest-virtual address at which guest-physical `phys` is mapped.
///
/// # Panics
///
/// Before [`init`].
pub fn phys_to_virt(phys: u64) -> *mut u8 {
    let offset = *PHYSICAL_OFFSET.get().expect("memory::init not called");
    (offset + phys) as *mut u8
}
