//! The guest's own page tables: mapping, unmapping and inspecting entries in
//! tables that live in guest-physical memory, in the format of
//! `shared_abi::page_table` (the same code the hypervisor uses to read
//! them).
//!
//! The hypervisor shadows these tables; like a TLB, it keeps using an old
//! translation until told otherwise, so every change to a present entry is
//! followed by `mmu_invalidate_page` (these functions do it).
//!
//! Every function takes the guest-physical address of a top-level table
//! (`root`; [`current_root`] for the address space in use) and needs
//! [`super::init`]. Mappings get exactly the flags asked for (plus
//! `PRESENT`): the guest kernel reaches every page it maps, `USER` or not
//! (the hypervisor ignores the bit for it), while its user programs
//! (`super::super::user`) reach only pages mapped with `USER` at every
//! level. Tables are allocated from [`super::frames`].
//!
//! ```no_run
//! use shared_abi::guest::memory::paging::{self, PageFlags};
//! let page = 0x4000_0000_0000;
//! let frame = paging::map_page(page, PageFlags::WRITABLE).expect("map");
//! assert_eq!(paging::translate(paging::current_root(), page), Some(frame));
//! assert_eq!(paging::unmap(paging::current_root(), page), Some(frame));
//! ```

use crate::page_table::{self, ADDRESS_MASK, ENTRIES, TableMemory};
pub use crate::page_table::{MapError, PageFlags, PageSize};

use super::{frames, phys_to_virt};
use crate::guest as hv;

/// Page tables reached through the physical-memory mapping, allocated from
/// the guest's frame allocator.
#[derive(Clone, Copy, Debug, Default)]
pub struct GuestTables;

impl TableMemory for GuestTables {
    fn read_entry(&self, table: u64, index: usize) -> u64 {
        // SAFETY: `table` is a page-table frame of this guest, mapped at the
        // physical-memory offset; index < 512.
        unsafe { phys_to_virt(table).cast::<u64>().add(index).read_volatile() }
    }
    fn write_entry(&mut self, table: u64, index: usize, value: u64) {
        // SAFETY: as for read_entry.
        unsafe {
            phys_to_virt(table)
                .cast::<u64>()
                .add(index)
                .write_volatile(value)
        }
    }
    fn alloc_table(&mut self) -> Option<u64> {
        frames::allocate()
    }
    fn free_table(&mut self, table: u64) {
        frames::free(table)
    }
}

/// The current address space's root (guest-physical): `mmu_get_base`.
pub fn current_root() -> u64 {
    hv::mmu_get_base()
}

/// Maps a fresh zeroed frame at `virt` (4 KiB, page-aligned) in the current
/// address space with `flags` (plus `PRESENT`); returns the
/// frame.
///
/// # Errors
///
/// [`MapError::OutOfMemory`] when no frame is left for the page or a table,
/// and the errors of [`map`]; the frame is returned to the allocator then.
pub fn map_page(virt: u64, flags: PageFlags) -> Result<u64, MapError> {
    let frame = frames::allocate().ok_or(MapError::OutOfMemory)?;
    map(current_root(), virt, frame, PageSize::Size4K, flags)
        .inspect_err(|_| frames::free(frame))?;
    Ok(frame)
}

/// Maps `virt` to `phys` (both aligned to `size`) in the tables at `root`
/// with `flags` (plus `PRESENT`), creating intermediate tables as needed
/// (user-accessible ones when `flags` has `USER`). A new mapping needs no invalidation (nothing can be cached for
/// an unmapped page).
///
/// # Errors
///
/// [`MapError::Misaligned`], [`MapError::NonCanonical`],
/// [`MapError::AlreadyMapped`] (use [`remap`] to replace a 4 KiB mapping),
/// [`MapError::OutOfMemory`] when no frame is left for a table.
pub fn map(
    root: u64,
    virt: u64,
    phys: u64,
    size: PageSize,
    flags: PageFlags,
) -> Result<(), MapError> {
    page_table::map(&mut GuestTables, root, virt, phys, size, flags)
}

/// Points the 4 KiB entry for `virt` at `phys` with `flags` (whatever it
/// mapped before) and invalidates it.
///
/// # Errors
///
/// As [`map`], except that an existing mapping is replaced; a 2 MiB or
/// 1 GiB page covering `virt` gives [`MapError::AlreadyMapped`].
pub fn remap(root: u64, virt: u64, phys: u64, flags: PageFlags) -> Result<(), MapError> {
    page_table::remap(&mut GuestTables, root, virt, phys, PageSize::Size4K, flags)?;
    hv::mmu_invalidate_page(virt);
    Ok(())
}

/// Removes the 4 KiB mapping of `virt`, invalidates it, and returns the
/// frame it mapped (`None` if nothing was mapped). The frame is not freed:
/// hand it to [`frames::free`] when no other mapping uses it.
pub fn unmap(root: u64, virt: u64) -> Option<u64> {
    let (table, index) = page_table::leaf_slot(&GuestTables, root, virt)?;
    let entry = GuestTables.read_entry(table, index);
    GuestTables.write_entry(table, index, 0);
    hv::mmu_invalidate_page(virt);
    (entry & PageFlags::PRESENT.bits() != 0).then_some(entry & ADDRESS_MASK)
}

/// Removes the 4 KiB mappings of `pages` pages from `virt` (page-aligned)
/// and invalidates them all in batches ([`hv::mmu_invalidate_range`]);
/// calls `each(page, frame)` for every page that was mapped. The frames are
/// not freed. Returns how many pages were mapped.
pub fn unmap_range(root: u64, virt: u64, pages: u64, mut each: impl FnMut(u64, u64)) -> u64 {
    let mut mapped = 0;
    for page in (0..pages).map(|index| virt.wrapping_add(index * 4096)) {
        let Some((table, index)) = page_table::leaf_slot(&GuestTables, root, page) else {
            continue;
        };
        let entry = GuestTables.read_entry(table, index);
        GuestTables.write_entry(table, index, 0);
        if entry & PageFlags::PRESENT.bits() != 0 {
            each(page, entry & ADDRESS_MASK);
            mapped += 1;
        }
    }
    hv::mmu_invalidate_range(virt, pages);
    mapped
}

/// The flags of the 4 KiB entry for `virt` (accessed and dirty included;
/// `None` when no page table covers it).
pub fn entry_flags(root: u64, virt: u64) -> Option<PageFlags> {
    let (table, index) = page_table::leaf_slot(&GuestTables, root, virt)?;
    Some(PageFlags::from_bits_retain(
        GuestTables.read_entry(table, index),
    ))
}

/// Clears `flags` in the 4 KiB entry for `virt` and invalidates it.
pub fn clear_flags(root: u64, virt: u64, flags: PageFlags) -> Option<()> {
    let (table, index) = page_table::leaf_slot(&GuestTables, root, virt)?;
    let entry = GuestTables.read_entry(table, index);
    GuestTables.write_entry(table, index, entry & !flags.bits());
    hv::mmu_invalidate_page(virt);
    Some(())
}

/// The guest-physical address `virt` maps to in `root` (any page size), or
/// `None` when it is not mapped.
pub fn translate(root: u64, virt: u64) -> Option<u64> {
    page_table::translate(&GuestTables, root, virt).map(|t| t.phys)
}

/// A new address space sharing every top-level entry of `root` (and so the
/// lower-level tables beneath them): a mapping made later in a top-level
/// slot that was empty belongs to the new space alone.
pub fn clone_address_space(root: u64) -> Option<u64> {
    let new = frames::allocate()?;
    for index in 0..ENTRIES {
        let entry = GuestTables.read_entry(root, index);
        GuestTables.write_entry(new, index, entry);
    }
    Some(new)
}
