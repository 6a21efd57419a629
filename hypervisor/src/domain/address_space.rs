//! A domain's address space: a root table whose upper half is the
//! hypervisor's and whose lower half maps only the domain's own frames,
//! user-accessible.
//!
//! The loader fills it through [`GuestMapper`]; hypercalls translate guest
//! pointers through it. Its tables are hypervisor frames, never mapped into
//! the guest, and are freed with it.

use crate::loader::GuestMapper;
use crate::mm::address::{GuestFrame, GuestVirtAddr, MachineAddr, is_lower_half};
use crate::mm::kernel_space;
use crate::mm::machine_tables::MachineTables;
use crate::mm::page_table::{self, MapError, PageFlags, PageSize, TableMemory, Translation};

use super::memory::DomainMemory;

/// The page tables of one domain.
pub struct AddressSpace {
    root: MachineAddr,
}

impl AddressSpace {
    /// A new address space with an empty lower half.
    pub fn new() -> Option<Self> {
        kernel_space::new_root().map(|root| Self { root })
    }

    /// The root table, for CR3.
    pub fn root(&self) -> MachineAddr {
        self.root
    }

    /// Walks the domain's tables for `addr`.
    pub fn translate(&self, addr: GuestVirtAddr) -> Option<Translation> {
        page_table::translate(&MachineTables, self.root.as_u64(), addr.as_u64())
    }

    /// A mapper that places `memory`'s frames in this space.
    pub fn mapper<'a>(&'a mut self, memory: &'a DomainMemory) -> DomainMapper<'a> {
        DomainMapper {
            root: self.root,
            memory,
        }
    }
}

impl Drop for AddressSpace {
    fn drop(&mut self) {
        let mut tables = MachineTables;
        page_table::free_subtree(&mut tables, self.root.as_u64(), 0..256);
        tables.free_table(self.root.as_u64());
    }
}

/// Maps guest frames of one domain into its address space.
pub struct DomainMapper<'a> {
    root: MachineAddr,
    memory: &'a DomainMemory,
}

impl GuestMapper for DomainMapper<'_> {
    fn map(
        &mut self,
        page: GuestVirtAddr,
        frame: GuestFrame,
        flags: PageFlags,
    ) -> Result<(), MapError> {
        if !is_lower_half(page.as_u64()) {
            return Err(MapError::NonCanonical);
        }
        let machine = self
            .memory
            .machine_frame(frame)
            .ok_or(MapError::OutOfMemory)?;
        page_table::map(
            &mut MachineTables,
            self.root.as_u64(),
            page.as_u64(),
            machine.start().as_u64(),
            PageSize::Size4K,
            flags | PageFlags::USER,
        )
    }
}
