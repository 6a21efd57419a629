//! Writing the `bootloader_api::BootInfo` a guest receives at its entry point.
//!
//! The structure is built as a value here, copied into the guest's
//! boot-information page, and its memory-region slice is then pointed at the
//! region array placed right after it in the same page, at the guest-virtual
//! address the guest will see.

use bootloader_api::BootInfo;
use bootloader_api::info::{MemoryRegion, MemoryRegionKind, MemoryRegions, Optional};
use core::mem::{offset_of, size_of};

use crate::mm::address::{GuestPhysAddr, GuestVirtAddr, PAGE_SIZE};
use crate::mm::guest_memory::{self, GuestPhysMemory, OutOfRange};

/// What the loader decided, for the guest to be told.
#[derive(Clone, Copy, Debug)]
pub struct BootFacts {
    /// Guest-physical memory size.
    pub memory_size: u64,
    /// Guest-physical bytes from 0 used by the loader.
    pub used: u64,
    /// Guest-physical address of the kernel's segments.
    pub kernel_addr: u64,
    /// Guest-physical bytes holding the kernel's segments.
    pub kernel_len: u64,
    /// Where all guest-physical memory is mapped, if the kernel asked.
    pub physical_memory_offset: Option<u64>,
    /// Lowest address of the stack.
    pub stack_bottom: u64,
    /// Stack size in bytes.
    pub stack_size: u64,
}

/// Offset of the region array in the boot-information page.
const REGIONS_OFFSET: u64 = size_of::<BootInfo>().next_multiple_of(16) as u64;

const _: () =
    assert!(REGIONS_OFFSET as usize + 2 * size_of::<MemoryRegion>() <= PAGE_SIZE as usize);
// MemoryRegions is `#[repr(C)] { ptr, len }`: the loader patches both fields.
const _: () = assert!(size_of::<MemoryRegions>() == 16);

/// Writes the boot information into the page at `page` (guest-physical),
/// which the guest sees at `page_virt`.
pub fn write_boot_info(
    memory: &impl GuestPhysMemory,
    page: GuestPhysAddr,
    page_virt: GuestVirtAddr,
    facts: &BootFacts,
) -> Result<(), OutOfRange> {
    let regions = [
        MemoryRegion {
            start: 0,
            end: facts.used,
            kind: MemoryRegionKind::Bootloader,
        },
        MemoryRegion {
            start: facts.used,
            end: facts.memory_size,
            kind: MemoryRegionKind::Usable,
        },
    ];
    let empty: &'static mut [MemoryRegion] = &mut [];
    let mut info = BootInfo::new(MemoryRegions::from(empty));
    info.physical_memory_offset = Optional::from(facts.physical_memory_offset);
    info.kernel_addr = facts.kernel_addr;
    info.kernel_len = facts.kernel_len;
    info.kernel_image_offset = 0;
    info.kernel_stack_bottom = facts.stack_bottom;
    info.kernel_stack_len = facts.stack_size;

    guest_memory::write_value(memory, page, &info)?;
    let regions_phys = GuestPhysAddr(page.as_u64() + REGIONS_OFFSET);
    guest_memory::write_value(memory, regions_phys, &regions)?;
    let slice_field = page.as_u64() + offset_of!(BootInfo, memory_regions) as u64;
    let regions_virt = page_virt.as_u64() + REGIONS_OFFSET;
    guest_memory::write(
        memory,
        GuestPhysAddr(slice_field),
        &regions_virt.to_le_bytes(),
    )?;
    guest_memory::write(
        memory,
        GuestPhysAddr(slice_field + 8),
        &(regions.len() as u64).to_le_bytes(),
    )?;
    Ok(())
}
