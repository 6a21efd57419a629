//! A process's address space: its own page tables, with the user part
//! private and the kernel part shared with every other space.
//!
//! The root is a fresh PML4. Every top-level entry of the kernel's root but
//! the first is copied with the user bit cleared, so the kernel's tables
//! beneath are shared (a kernel mapping made later below them is seen by
//! every process) and, as the hypervisor builds guest-user mode's view
//! only from entries that are user-accessible at every level, none of the
//! kernel's memory is visible in user mode. The first top-level entry
//! points at a PDPT of the process's own: its first entry is the kernel's
//! first gigabyte (the kernel's image, again without the user bit), the
//! rest is user space, [`USER_BASE`]..[`USER_TOP`], mapped with the user
//! bit at every level.

use shared_abi::page_table::{self, ADDRESS_MASK, MapError, PageFlags, PageSize, TableMemory};

use super::{USER_BASE, USER_TOP, UserAddress};
use crate::hv;
use crate::memory::frames;
use crate::memory::paging::GuestTables;
use shared_abi::hypercall::FlushScope;

/// Frames left to the kernel however much its processes ask for (its heap,
/// page tables, driver buffers).
const KERNEL_RESERVE_FRAMES: u64 = 512;

/// One process's page tables.
#[derive(Debug)]
pub struct AddressSpace {
    root: u64,
    user_table: u64,
}

/// Why a space or a mapping could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpaceError {
    /// No frame left (beyond the kernel's reserve).
    OutOfMemory,
    /// The kernel's own tables reach into user space.
    KernelInUserSpace,
    /// A page outside user space, or (for a fresh frame) one already mapped.
    BadPage,
}

/// Frames processes may still take: those free beyond the kernel's
/// reserve.
pub fn frames_for_processes() -> u64 {
    let total = frames::usable_bytes() / 4096;
    total.saturating_sub(frames::in_use() + KERNEL_RESERVE_FRAMES)
}

/// A frame for a process, unless that would eat into the kernel's reserve.
fn user_frame() -> Option<u64> {
    match frames_for_processes() {
        0 => None,
        _ => frames::allocate(),
    }
}

impl AddressSpace {
    /// A new space sharing the kernel part of `kernel_root`.
    pub fn new(kernel_root: u64) -> Result<Self, SpaceError> {
        let tables = &mut GuestTables;
        let kernel_first = tables.read_entry(kernel_root, 0);
        let kernel_pdpt = kernel_first & ADDRESS_MASK;
        let present = kernel_first & PageFlags::PRESENT.bits() != 0;
        if present && (1..512).any(|index| tables.read_entry(kernel_pdpt, index) != 0) {
            return Err(SpaceError::KernelInUserSpace);
        }
        let root = user_frame().ok_or(SpaceError::OutOfMemory)?;
        let Some(user_table) = user_frame() else {
            frames::free(root);
            return Err(SpaceError::OutOfMemory);
        };
        let hide = !PageFlags::USER.bits();
        for index in 1..512 {
            let entry = tables.read_entry(kernel_root, index);
            tables.write_entry(root, index, entry & hide);
        }
        if present {
            let image = tables.read_entry(kernel_pdpt, 0);
            tables.write_entry(user_table, 0, image & hide);
        }
        let link = PageFlags::PRESENT | PageFlags::WRITABLE | PageFlags::USER;
        tables.write_entry(root, 0, user_table | link.bits());
        Ok(Self { root, user_table })
    }

    /// The guest-physical address of the root, for `mmu_set_base`.
    pub fn root(&self) -> u64 {
        self.root
    }

    /// Maps a fresh zeroed frame at `page` (page-aligned, in user space)
    /// with `flags` (plus present and user); returns the frame.
    /// A page already mapped is refused ([`SpaceError::BadPage`]): its
    /// frame would be lost.
    pub fn map_new(&mut self, page: UserAddress, flags: PageFlags) -> Result<u64, SpaceError> {
        let frame = user_frame().ok_or(SpaceError::OutOfMemory)?;
        self.install(page, frame, flags, false)
            .inspect_err(|_| frames::free(frame))?;
        Ok(frame)
    }

    /// Maps `frame` at `page` (in user space) with `flags`, replacing what
    /// was there (the caller frees a replaced frame).
    pub fn map(
        &mut self,
        page: UserAddress,
        frame: u64,
        flags: PageFlags,
    ) -> Result<(), SpaceError> {
        self.install(page, frame, flags, true)
    }

    fn install(
        &mut self,
        page: UserAddress,
        frame: u64,
        flags: PageFlags,
        replace: bool,
    ) -> Result<(), SpaceError> {
        if !(USER_BASE..USER_TOP).contains(&page.0) {
            return Err(SpaceError::BadPage);
        }
        let flags = flags | PageFlags::USER;
        let install = match replace {
            true => page_table::remap,
            false => page_table::map,
        };
        install(
            &mut GuestTables,
            self.root,
            page.0,
            frame,
            PageSize::Size4K,
            flags,
        )
        .map_err(|error| match error {
            MapError::OutOfMemory => SpaceError::OutOfMemory,
            _ => SpaceError::BadPage,
        })?;
        hv::mmu_invalidate_page(page.0);
        Ok(())
    }

    /// Unmaps `page` and frees its frame, if it was mapped.
    pub fn unmap(&mut self, page: UserAddress) {
        if let Some(frame) = crate::memory::paging::unmap(self.root, page.0) {
            frames::free(frame);
        }
    }

    /// What `address` translates to for user code: the frame's address
    /// and the effective flags, if it is user-accessible at every level.
    pub fn translate(&self, address: UserAddress) -> Option<(u64, PageFlags)> {
        if !(USER_BASE..USER_TOP).contains(&address.0) {
            return None;
        }
        let translation = page_table::translate(&GuestTables, self.root, address.0)?;
        let user = translation.flags.contains(PageFlags::USER);
        user.then_some((translation.phys, translation.flags))
    }
}

impl Drop for AddressSpace {
    /// Frees every user page and table, and the root, then drops every
    /// cached translation (the root's frame may become another's).
    fn drop(&mut self) {
        let tables = &mut GuestTables;
        for pdpt_index in 1..512 {
            let directory = tables.read_entry(self.user_table, pdpt_index);
            if directory & PageFlags::PRESENT.bits() == 0 {
                continue;
            }
            let directory = directory & ADDRESS_MASK;
            for pd_index in 0..512 {
                let table = tables.read_entry(directory, pd_index);
                if table & PageFlags::PRESENT.bits() == 0 {
                    continue;
                }
                let table = table & ADDRESS_MASK;
                for pt_index in 0..512 {
                    let leaf = tables.read_entry(table, pt_index);
                    if leaf & PageFlags::PRESENT.bits() != 0 {
                        frames::free(leaf & ADDRESS_MASK);
                    }
                }
                frames::free(table);
            }
            frames::free(directory);
        }
        frames::free(self.user_table);
        frames::free(self.root);
        hv::mmu_flush(FlushScope::All);
    }
}
