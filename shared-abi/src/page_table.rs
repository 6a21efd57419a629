//! Four-level x86_64 page tables, generic over where the tables live.
//!
//! The entry format is part of the ABI: guests build their own tables in
//! this format and the hypervisor reads them. The same walking and mapping
//! code serves the hypervisor's tables (its own and the shadows), the tables
//! the hypervisor builds for a guest at boot, and guest kernels' own tables:
//! a [`TableMemory`] says how to read, write and allocate table frames, so
//! the logic is unit-tested on the host against fake memory. Table addresses
//! are "physical" in whatever space the memory uses.

use bitflags::bitflags;

bitflags! {
    /// Bits of a page-table entry.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PageFlags: u64 {
        /// The entry is valid.
        const PRESENT = 1 << 0;
        /// Writes are allowed.
        const WRITABLE = 1 << 1;
        /// Ring 3 may access.
        const USER = 1 << 2;
        /// Write-through caching.
        const WRITE_THROUGH = 1 << 3;
        /// Caching disabled.
        const NO_CACHE = 1 << 4;
        /// Set by the CPU on access.
        const ACCESSED = 1 << 5;
        /// Set by the CPU on write (leaf entries).
        const DIRTY = 1 << 6;
        /// Maps a large page (PD or PDPT level).
        const HUGE = 1 << 7;
        /// Not flushed on CR3 reload.
        const GLOBAL = 1 << 8;
        /// Instruction fetches are forbidden.
        const NO_EXECUTE = 1 << 63;
    }
}

/// Bits 51..12 of an entry: the next table or the mapped frame.
pub const ADDRESS_MASK: u64 = 0x000f_ffff_ffff_f000;
/// Entries per table.
pub const ENTRIES: usize = 512;

/// Storage for page tables.
pub trait TableMemory {
    /// Reads entry `index` of the table at `table`.
    fn read_entry(&self, table: u64, index: usize) -> u64;
    /// Writes entry `index` of the table at `table`.
    fn write_entry(&mut self, table: u64, index: usize, value: u64);
    /// Allocates a zeroed table and returns its address.
    fn alloc_table(&mut self) -> Option<u64>;
    /// Returns a table no longer referenced by any entry.
    fn free_table(&mut self, table: u64);

    /// Zeroes every entry of `table`. Memory that can do it faster than
    /// one entry at a time overrides this.
    fn zero_table(&mut self, table: u64) {
        for index in 0..ENTRIES {
            self.write_entry(table, index, 0);
        }
    }

    /// Writes `values` into consecutive entries of `table` from `first`.
    fn write_entries(&mut self, table: u64, first: usize, values: &[u64]) {
        for (offset, value) in values.iter().enumerate() {
            self.write_entry(table, first + offset, *value);
        }
    }

    /// The first index in `range` whose entry is present, if any. Memory
    /// that can skip runs of empty entries faster overrides this.
    fn next_present(&self, table: u64, range: core::ops::Range<usize>) -> Option<usize> {
        range
            .into_iter()
            .find(|&index| self.read_entry(table, index) & PageFlags::PRESENT.bits() != 0)
    }
}

/// Why a mapping could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The virtual or physical address is not aligned to the page size.
    Misaligned,
    /// The virtual address is not canonical.
    NonCanonical,
    /// Something is already mapped there.
    AlreadyMapped,
    /// No memory for a page table.
    OutOfMemory,
}

/// Size of a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageSize {
    /// 4 KiB, at the page-table level.
    Size4K,
    /// 2 MiB, at the page-directory level.
    Size2M,
    /// 1 GiB, at the PDPT level.
    Size1G,
}

impl PageSize {
    /// Bytes covered.
    pub const fn bytes(self) -> u64 {
        match self {
            PageSize::Size4K => 1 << 12,
            PageSize::Size2M => 1 << 21,
            PageSize::Size1G => 1 << 30,
        }
    }

    /// The level whose entry is the leaf (0 = page table, 3 = PML4).
    const fn leaf_level(self) -> usize {
        match self {
            PageSize::Size4K => 0,
            PageSize::Size2M => 1,
            PageSize::Size1G => 2,
        }
    }
}

/// Result of a successful walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// Physical address `virt` maps to.
    pub phys: u64,
    /// Effective rights: USER and WRITABLE only if every level grants them,
    /// NO_EXECUTE if any level sets it.
    pub flags: PageFlags,
    /// Size of the leaf mapping.
    pub size: PageSize,
}

/// Whether `addr` is canonical (bits 63..47 all equal).
pub const fn is_canonical(addr: u64) -> bool {
    let top = addr >> 47;
    top == 0 || top == 0x1ffff
}

/// Index of `virt` in the table at `level` (3 = PML4).
pub const fn table_index(virt: u64, level: usize) -> usize {
    ((virt >> (12 + 9 * level)) & 0x1ff) as usize
}

/// Walks the tables rooted at `root` for `virt`.
pub fn translate<M: TableMemory + ?Sized>(memory: &M, root: u64, virt: u64) -> Option<Translation> {
    if !is_canonical(virt) {
        return None;
    }
    let mut table = root;
    let mut rights = PageFlags::USER | PageFlags::WRITABLE;
    let mut no_execute = false;
    for level in (0..4).rev() {
        let entry = memory.read_entry(table, table_index(virt, level));
        let flags = PageFlags::from_bits_retain(entry);
        if !flags.contains(PageFlags::PRESENT) {
            return None;
        }
        rights &= flags;
        no_execute |= flags.contains(PageFlags::NO_EXECUTE);
        let leaf_size = match level {
            0 => Some(PageSize::Size4K),
            1 if flags.contains(PageFlags::HUGE) => Some(PageSize::Size2M),
            2 if flags.contains(PageFlags::HUGE) => Some(PageSize::Size1G),
            _ => None,
        };
        if let Some(size) = leaf_size {
            let base = entry & ADDRESS_MASK & !(size.bytes() - 1);
            let mut effective = (flags & !(PageFlags::USER | PageFlags::WRITABLE)) | rights;
            effective.set(PageFlags::NO_EXECUTE, no_execute);
            return Some(Translation {
                phys: base + (virt & (size.bytes() - 1)),
                flags: effective,
                size,
            });
        }
        table = entry & ADDRESS_MASK;
    }
    None
}

/// Maps the page of `size` at `virt` to `phys` with `flags` (PRESENT is
/// implied), creating intermediate tables as needed. Intermediate entries are
/// writable, and user-accessible when `flags` has USER.
pub fn map<M: TableMemory + ?Sized>(
    memory: &mut M,
    root: u64,
    virt: u64,
    phys: u64,
    size: PageSize,
    flags: PageFlags,
) -> Result<(), MapError> {
    install(memory, root, virt, phys, size, flags, false)
}

/// Like [`map`], but an existing leaf of the same size is replaced.
pub fn remap<M: TableMemory + ?Sized>(
    memory: &mut M,
    root: u64,
    virt: u64,
    phys: u64,
    size: PageSize,
    flags: PageFlags,
) -> Result<(), MapError> {
    install(memory, root, virt, phys, size, flags, true)
}

/// The body of [`map`] and [`remap`], inlined into both, so that a shadow
/// fill (a `remap` on the hypervisor's fault path) makes no call for it.
#[inline(always)]
fn install<M: TableMemory + ?Sized>(
    memory: &mut M,
    root: u64,
    virt: u64,
    phys: u64,
    size: PageSize,
    flags: PageFlags,
    replace: bool,
) -> Result<(), MapError> {
    if !virt.is_multiple_of(size.bytes()) || !phys.is_multiple_of(size.bytes()) {
        return Err(MapError::Misaligned);
    }
    if !is_canonical(virt) {
        return Err(MapError::NonCanonical);
    }
    let link_flags = PageFlags::PRESENT | PageFlags::WRITABLE | (flags & PageFlags::USER);
    let mut table = root;
    for level in (size.leaf_level() + 1..4).rev() {
        let index = table_index(virt, level);
        let entry = memory.read_entry(table, index);
        let present = PageFlags::from_bits_retain(entry);
        table = if !present.contains(PageFlags::PRESENT) {
            let next = memory.alloc_table().ok_or(MapError::OutOfMemory)?;
            memory.write_entry(table, index, next | link_flags.bits());
            next
        } else if present.contains(PageFlags::HUGE) {
            return Err(MapError::AlreadyMapped);
        } else {
            if !present.contains(link_flags) {
                memory.write_entry(table, index, entry | link_flags.bits());
            }
            entry & ADDRESS_MASK
        };
    }
    let index = table_index(virt, size.leaf_level());
    if !replace && memory.read_entry(table, index) & PageFlags::PRESENT.bits() != 0 {
        return Err(MapError::AlreadyMapped);
    }
    let mut leaf = flags | PageFlags::PRESENT;
    leaf.set(PageFlags::HUGE, size != PageSize::Size4K);
    memory.write_entry(table, index, phys | leaf.bits());
    Ok(())
}

/// The page table and index holding the 4 KiB leaf for `virt`, if the
/// intermediate tables exist (the leaf itself may be empty).
pub fn leaf_slot<M: TableMemory + ?Sized>(
    memory: &M,
    root: u64,
    virt: u64,
) -> Option<(u64, usize)> {
    let mut table = root;
    for level in (1..4).rev() {
        let entry = memory.read_entry(table, table_index(virt, level));
        let flags = PageFlags::from_bits_retain(entry);
        if !flags.contains(PageFlags::PRESENT) || flags.contains(PageFlags::HUGE) {
            return None;
        }
        table = entry & ADDRESS_MASK;
    }
    Some((table, table_index(virt, 0)))
}

/// Frees every table below `root` reachable from PML4 entries
/// `pml4_range`, clearing those entries. Mapped frames themselves are not
/// freed (they belong to whoever mapped them).
pub fn free_subtree<M: TableMemory + ?Sized>(
    memory: &mut M,
    root: u64,
    pml4_range: core::ops::Range<usize>,
) {
    let end = pml4_range.end;
    let mut from = pml4_range.start;
    while let Some(index) = memory.next_present(root, from..end) {
        let entry = memory.read_entry(root, index);
        free_table_recursive(memory, entry & ADDRESS_MASK, 2);
        memory.write_entry(root, index, 0);
        from = index + 1;
    }
}

fn free_table_recursive<M: TableMemory + ?Sized>(memory: &mut M, table: u64, level: usize) {
    if level > 0 {
        let mut from = 0;
        while let Some(index) = memory.next_present(table, from..ENTRIES) {
            let flags = PageFlags::from_bits_retain(memory.read_entry(table, index));
            if !flags.contains(PageFlags::HUGE) {
                free_table_recursive(memory, flags.bits() & ADDRESS_MASK, level - 1);
            }
            from = index + 1;
        }
    }
    memory.free_table(table);
}

#[cfg(any(test, feature = "test-support"))]
pub mod fake {
    //! An in-memory [`TableMemory`] for host tests.
    extern crate std;
    use super::*;
    use std::collections::BTreeMap;
    use std::vec;
    use std::vec::Vec;

    /// Tables stored in a map from address to entries.
    #[derive(Default)]
    pub struct FakeTables {
        pub tables: BTreeMap<u64, Vec<u64>>,
        pub next: u64,
        pub limit: Option<usize>,
        pub freed: Vec<u64>,
    }

    impl FakeTables {
        /// A memory with one root table at 0x1000.
        pub fn with_root() -> (Self, u64) {
            let mut memory = Self {
                next: 0x1000,
                ..Self::default()
            };
            let root = memory.alloc_table().unwrap();
            (memory, root)
        }
    }

    impl TableMemory for FakeTables {
        fn read_entry(&self, table: u64, index: usize) -> u64 {
            self.tables.get(&table).map_or(0, |entries| entries[index])
        }
        fn write_entry(&mut self, table: u64, index: usize, value: u64) {
            self.tables.get_mut(&table).expect("write to a non-table")[index] = value;
        }
        fn alloc_table(&mut self) -> Option<u64> {
            if self.limit.is_some_and(|limit| self.tables.len() >= limit) {
                return None;
            }
            let address = self.next;
            self.next += 0x1000;
            self.tables.insert(address, vec![0; ENTRIES]);
            Some(address)
        }
        fn free_table(&mut self, table: u64) {
            self.tables.remove(&table);
            self.freed.push(table);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeTables;
    use super::*;

    const USER_RW: PageFlags = PageFlags::USER.union(PageFlags::WRITABLE);

    #[test]
    fn maps_and_translates_4k_and_2m_pages() {
        let (mut memory, root) = FakeTables::with_root();
        map(
            &mut memory,
            root,
            0x40_0000,
            0x9000,
            PageSize::Size4K,
            USER_RW,
        )
        .unwrap();
        let t = translate(&memory, root, 0x40_0123).unwrap();
        assert_eq!(t.phys, 0x9123);
        assert_eq!(t.size, PageSize::Size4K);
        assert!(t.flags.contains(USER_RW));
        map(
            &mut memory,
            root,
            0x8000_0000,
            0x20_0000,
            PageSize::Size2M,
            PageFlags::NO_EXECUTE,
        )
        .unwrap();
        let t = translate(&memory, root, 0x8012_3456).unwrap();
        assert_eq!(t.phys, 0x32_3456);
        assert_eq!(t.size, PageSize::Size2M);
        assert!(t.flags.contains(PageFlags::NO_EXECUTE));
        assert!(!t.flags.contains(PageFlags::USER));
        assert_eq!(translate(&memory, root, 0x40_1000), None);
    }

    #[test]
    fn refuses_misaligned_noncanonical_and_double_mappings() {
        let (mut memory, root) = FakeTables::with_root();
        let map4k = |m: &mut FakeTables, v, p| map(m, root, v, p, PageSize::Size4K, USER_RW);
        assert_eq!(
            map4k(&mut memory, 0x1001, 0x2000),
            Err(MapError::Misaligned)
        );
        assert_eq!(
            map4k(&mut memory, 0x0000_8000_0000_0000, 0x2000),
            Err(MapError::NonCanonical)
        );
        map4k(&mut memory, 0x1000, 0x2000).unwrap();
        assert_eq!(
            map4k(&mut memory, 0x1000, 0x3000),
            Err(MapError::AlreadyMapped)
        );
        map(&mut memory, root, 0x20_0000, 0, PageSize::Size2M, USER_RW).unwrap();
        assert_eq!(
            map4k(&mut memory, 0x20_1000, 0x3000),
            Err(MapError::AlreadyMapped)
        );
        assert_eq!(translate(&memory, root, 0xffff_0000_0000_0000), None);
    }

    #[test]
    fn effective_rights_are_the_intersection_of_levels() {
        let (mut memory, root) = FakeTables::with_root();
        map(
            &mut memory,
            root,
            0x1000,
            0x5000,
            PageSize::Size4K,
            PageFlags::WRITABLE,
        )
        .unwrap();
        // A supervisor intermediate table makes a later user leaf below it
        // user-visible only because map() upgrades the links.
        map(&mut memory, root, 0x2000, 0x6000, PageSize::Size4K, USER_RW).unwrap();
        assert!(
            translate(&memory, root, 0x2000)
                .unwrap()
                .flags
                .contains(PageFlags::USER)
        );
        assert!(
            !translate(&memory, root, 0x1000)
                .unwrap()
                .flags
                .contains(PageFlags::USER)
        );
        // Clearing USER on the PML4 link removes it for everything below.
        let entry = memory.read_entry(root, 0);
        memory.write_entry(root, 0, entry & !PageFlags::USER.bits());
        assert!(
            !translate(&memory, root, 0x2000)
                .unwrap()
                .flags
                .contains(PageFlags::USER)
        );
    }

    #[test]
    fn running_out_of_tables_is_an_error_not_a_panic() {
        let (mut memory, root) = FakeTables::with_root();
        memory.limit = Some(2);
        let result = map(&mut memory, root, 0x1000, 0x2000, PageSize::Size4K, USER_RW);
        assert_eq!(result, Err(MapError::OutOfMemory));
    }

    #[test]
    fn free_subtree_returns_every_table() {
        let (mut memory, root) = FakeTables::with_root();
        for page in 0..600u64 {
            map(
                &mut memory,
                root,
                page * 0x1000,
                page * 0x1000,
                PageSize::Size4K,
                USER_RW,
            )
            .unwrap();
        }
        map(&mut memory, root, 0x4000_0000, 0, PageSize::Size2M, USER_RW).unwrap();
        let before = memory.tables.len();
        free_subtree(&mut memory, root, 0..256);
        assert_eq!(memory.tables.len(), 1, "only the root remains");
        assert_eq!(memory.freed.len(), before - 1);
        assert_eq!(translate(&memory, root, 0x1000), None);
    }
}
