//! Guest memory management: a frame allocator over the guest-physical
//! memory the `BootInfo` reports usable, a mapper for the guest's own page
//! tables, demand-paged regions, and the heap.
//!
//! The guest reaches guest-physical memory (its page tables included)
//! through the physical-memory mapping its bootloader config asks for.
//! Changing a mapping follows the TLB discipline: the mapper invalidates
//! through the `mmu_invalidate_page` hypercall; no privileged instruction is
//! ever used.

pub mod demand;
pub mod frames;
pub mod heap;
pub mod paging;

use bootloader_api::BootInfo;
use bootloader_api::info::MemoryRegionKind;
use spin::Once;

static PHYSICAL_OFFSET: Once<u64> = Once::new();

/// Sets up the frame allocator from `boot_info`. The kernel's bootloader
/// config must ask for the physical-memory mapping.
pub fn init(boot_info: &BootInfo) {
    let offset = boot_info
        .physical_memory_offset
        .into_option()
        .expect("memory::init needs the physical-memory mapping in the bootloader config");
    PHYSICAL_OFFSET.call_once(|| offset);
    for region in boot_info.memory_regions.iter() {
        if region.kind == MemoryRegionKind::Usable {
            frames::add_region(region.start, region.end);
        }
    }
}

/// The guest-virtual address at which guest-physical `phys` is mapped.
pub fn phys_to_virt(phys: u64) -> *mut u8 {
    let offset = *PHYSICAL_OFFSET.get().expect("memory::init not called");
    (offset + phys) as *mut u8
}
