//! Walking a guest's own page tables, as the MMU would, with the guest's
//! accessed and dirty bits emulated.
//!
//! Guest tables live in guest-physical memory and hold guest-physical
//! addresses. A walk checks each entry against the access (write, fetch),
//! stops at 2 MiB and 1 GiB leaves, and refuses any table or frame outside
//! the domain's memory. A successful walk sets the accessed bit on every
//! entry it used and, for a write, the dirty bit on the leaf: exactly what
//! the hardware would have done had it walked these tables itself.
//!
//! The guest's user/supervisor bit is ignored for the guest kernel's own
//! accesses (guest kernels run in ring 3 and everything they map is
//! theirs); an access from guest-user mode ([`walk_user`]) needs it at
//! every level, as the MMU checks a ring 3 access.
//!
//! Reserved bits are checked as the MMU checks them: a page-size bit in a
//! PML4 entry, and the bits between the PAT bit and the frame of a 2 MiB or
//! 1 GiB leaf, raise a reserved-bit fault (error code P | RSVD).

use super::address::{GuestPhysAddr, GuestVirtAddr, is_guest_address};
use super::guest_memory::{self, GuestPhysMemory};
use super::page_table::{ADDRESS_MASK, PageFlags, PageSize, table_index};

/// What the access was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// A write (else a read).
    pub write: bool,
    /// An instruction fetch.
    pub fetch: bool,
}

impl Access {
    /// A data read.
    pub const READ: Access = Access {
        write: false,
        fetch: false,
    };
    /// A data write.
    pub const WRITE: Access = Access {
        write: true,
        fetch: false,
    };
    /// An instruction fetch.
    pub const FETCH: Access = Access {
        write: false,
        fetch: true,
    };

    /// The access a hardware page-fault error code describes.
    /// (Hardware faults all come from ring 3: the error code cannot say
    /// whether guest-user code made the access; see [`walk_user`].)
    pub const fn of_page_fault(error_code: u64) -> Access {
        Access {
            write: error_code & error_code::WRITE != 0,
            fetch: error_code & error_code::FETCH != 0,
        }
    }
}

/// Page-fault error-code bits, as the guest sees them.
pub mod error_code {
    /// The page was present (protection violation).
    pub const PRESENT: u64 = 1 << 0;
    /// The access was a write.
    pub const WRITE: u64 = 1 << 1;
    /// The access came from user mode (always, for a guest).
    pub const USER: u64 = 1 << 2;
    /// A reserved bit was set, or an entry named memory the domain does not own.
    pub const RESERVED: u64 = 1 << 3;
    /// The access was an instruction fetch.
    pub const FETCH: u64 = 1 << 4;
}

/// A successful walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestMapping {
    /// The guest-physical address the virtual address maps to.
    pub phys: GuestPhysAddr,
    /// The leaf's flags after the walk (accessed, and dirty if written).
    pub leaf: PageFlags,
    /// Writable at every level.
    pub writable: bool,
    /// Executable at every level.
    pub executable: bool,
    /// Size of the guest's leaf.
    pub size: PageSize,
}

/// A walk that ends in a page fault for the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestFault {
    /// The error code to deliver.
    pub error_code: u64,
}

/// Walks the tables rooted at `root` for `addr` and `access`, updating
/// accessed/dirty bits on success. Kept out of line: its callers (the
/// shadow fill, a hypercall's pointer translation) stay small enough to be
/// inlined where they are called.
#[inline(never)]
pub fn walk<M: GuestPhysMemory + ?Sized>(
    memory: &M,
    root: GuestPhysAddr,
    addr: GuestVirtAddr,
    access: Access,
) -> Result<GuestMapping, GuestFault> {
    walk_tables::<M, true, false>(memory, root, addr, access)
}

/// [`walk`] for an access from guest-user mode: the user bit must be set at
/// every level. A function of its own, so that the guest kernel's walks
/// carry no test for it.
#[inline(never)]
pub fn walk_user<M: GuestPhysMemory + ?Sized>(
    memory: &M,
    root: GuestPhysAddr,
    addr: GuestVirtAddr,
    access: Access,
) -> Result<GuestMapping, GuestFault> {
    walk_tables::<M, true, true>(memory, root, addr, access)
}

/// Walks the tables rooted at `root` for a read of `addr` as [`walk`]
/// does, but changes nothing: no accessed or dirty bit is set (a look from
/// outside the guest, such as a debugger's, leaves no trace in its tables).
pub fn peek<M: GuestPhysMemory + ?Sized>(
    memory: &M,
    root: GuestPhysAddr,
    addr: GuestVirtAddr,
) -> Result<GuestMapping, GuestFault> {
    walk_tables::<M, false, false>(memory, root, addr, Access::READ)
}

/// The walk itself; `UPDATE` says whether accessed and dirty bits are set
/// (inlined whole into each of the two).
#[inline(always)]
fn walk_tables<M: GuestPhysMemory + ?Sized, const UPDATE: bool, const USER: bool>(
    memory: &M,
    root: GuestPhysAddr,
    addr: GuestVirtAddr,
    access: Access,
) -> Result<GuestMapping, GuestFault> {
    let mut code = error_code::USER;
    if access.write {
        code |= error_code::WRITE;
    }
    if access.fetch {
        code |= error_code::FETCH;
    }
    let not_present = GuestFault { error_code: code };
    let protection = GuestFault {
        error_code: code | error_code::PRESENT,
    };
    let reserved = GuestFault {
        error_code: code | error_code::PRESENT | error_code::RESERVED,
    };
    if !is_guest_address(addr.as_u64()) {
        return Err(not_present);
    }
    // The bits the access needs set at every level, and the one it needs
    // clear at every level.
    let mut needed = 0;
    if access.write {
        needed |= PageFlags::WRITABLE.bits();
    }
    if USER {
        needed |= PageFlags::USER.bits();
    }
    let forbidden = match access.fetch {
        true => PageFlags::NO_EXECUTE.bits(),
        false => 0,
    };

    let mut table = root;
    let mut used: [(GuestPhysAddr, u64); 4] = [(GuestPhysAddr(0), 0); 4];
    // Every entry's bits ANDed (writable, user at every level) and ORed
    // (no-execute at any level).
    let mut every = u64::MAX;
    let mut any = 0u64;
    for (depth, level) in (0..4).rev().enumerate() {
        let slot = GuestPhysAddr(table.as_u64() + 8 * table_index(addr.as_u64(), level) as u64);
        let entry = read_entry(memory, slot).ok_or(reserved)?;
        let flags = PageFlags::from_bits_retain(entry);
        if !flags.contains(PageFlags::PRESENT) {
            return Err(not_present);
        }
        if reserved_bits_set(entry, level) {
            return Err(reserved);
        }
        used[depth] = (slot, entry);
        every &= entry;
        any |= entry;
        let size = match level {
            0 => Some(PageSize::Size4K),
            1 if flags.contains(PageFlags::HUGE) => Some(PageSize::Size2M),
            2 if flags.contains(PageFlags::HUGE) => Some(PageSize::Size1G),
            _ => None,
        };
        let Some(size) = size else {
            table = GuestPhysAddr(entry & ADDRESS_MASK);
            continue;
        };
        let base = entry & ADDRESS_MASK & !(size.bytes() - 1);
        let phys = GuestPhysAddr(base + (addr.as_u64() & (size.bytes() - 1)));
        let in_memory = base
            .checked_add(size.bytes())
            .is_some_and(|end| end <= memory.size());
        // Only a frame outside memory is looked up among the foreign ones
        // (the common case costs nothing more).
        let reachable =
            in_memory || size == PageSize::Size4K && memory.is_foreign(GuestPhysAddr(base).frame());
        if !reachable {
            return Err(reserved);
        }
        if every & needed != needed || any & forbidden != 0 {
            return Err(protection);
        }
        let writable = every & PageFlags::WRITABLE.bits() != 0;
        let executable = any & PageFlags::NO_EXECUTE.bits() == 0;
        let mut leaf = flags | PageFlags::ACCESSED;
        if access.write {
            leaf |= PageFlags::DIRTY;
        }
        for (index, &(slot, entry)) in used[..=depth].iter().enumerate() {
            let updated = if index == depth {
                leaf.bits()
            } else {
                entry | PageFlags::ACCESSED.bits()
            };
            if UPDATE && updated != entry {
                write_entry(memory, slot, updated);
            }
        }
        return Ok(GuestMapping {
            phys,
            leaf,
            writable,
            executable,
            size,
        });
    }
    Err(not_present)
}

/// Bits 13..21 of a 2 MiB leaf (between the PAT bit and the frame).
const LARGE_RESERVED: u64 = 0x1f_e000;
/// Bits 13..30 of a 1 GiB leaf.
const GIANT_RESERVED: u64 = 0x3fff_e000;

/// Whether a present entry at `level` (3: PML4 .. 0: page table) has a bit
/// set that the architecture reserves there.
fn reserved_bits_set(entry: u64, level: usize) -> bool {
    let huge = entry & PageFlags::HUGE.bits() != 0;
    match level {
        3 => huge,
        2 if huge => entry & GIANT_RESERVED != 0,
        1 if huge => entry & LARGE_RESERVED != 0,
        _ => false,
    }
}

/// The entry at `slot`. Tables are page-aligned (the root is checked when
/// it is loaded, and an entry's address bits name a page), so every slot
/// is aligned: one load.
#[inline]
fn read_entry<M: GuestPhysMemory + ?Sized>(memory: &M, slot: GuestPhysAddr) -> Option<u64> {
    guest_memory::read_aligned(memory, slot)
}

#[inline]
fn write_entry<M: GuestPhysMemory + ?Sized>(memory: &M, slot: GuestPhysAddr, value: u64) {
    // The slot was just read, so it is aligned and inside guest memory.
    let _ = guest_memory::write_aligned(memory, slot, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::address::PAGE_SIZE;
    use crate::mm::guest_memory::fake::{FakeGuestMemory, FakeGuestTables};
    use crate::mm::page_table::{self, TableMemory};

    const MEMORY: usize = 64 * PAGE_SIZE as usize;

    fn setup(memory: &FakeGuestMemory) -> (FakeGuestTables<'_>, u64) {
        let mut tables = FakeGuestTables::new(memory);
        let root = tables.alloc_table().unwrap();
        (tables, root)
    }

    /// Tables mapping 0x40_0000 to frame 0x3000 with `flags`; their root.
    fn mapped(memory: &FakeGuestMemory, flags: PageFlags) -> u64 {
        let (mut tables, root) = setup(memory);
        page_table::map(
            &mut tables,
            root,
            0x40_0000,
            0x3000,
            PageSize::Size4K,
            flags,
        )
        .unwrap();
        root
    }

    fn entry(memory: &FakeGuestMemory, root: u64, addr: u64) -> PageFlags {
        let mut table = root;
        for level in (1..4).rev() {
            table = read_entry(
                memory,
                GuestPhysAddr(table + 8 * table_index(addr, level) as u64),
            )
            .unwrap()
                & ADDRESS_MASK;
        }
        PageFlags::from_bits_retain(
            read_entry(
                memory,
                GuestPhysAddr(table + 8 * table_index(addr, 0) as u64),
            )
            .unwrap(),
        )
    }

    const READ: Access = Access::READ;
    const WRITE: Access = Access::WRITE;
    const FETCH: Access = Access::FETCH;

    #[test]
    fn walks_and_emulates_accessed_and_dirty_bits() {
        let memory = FakeGuestMemory::new(MEMORY);
        let root = mapped(&memory, PageFlags::WRITABLE);
        let mapping = walk(&memory, GuestPhysAddr(root), GuestVirtAddr(0x40_0123), READ).unwrap();
        assert_eq!(mapping.phys, GuestPhysAddr(0x3123));
        assert!(mapping.writable && mapping.executable);
        let leaf = entry(&memory, root, 0x40_0000);
        assert!(leaf.contains(PageFlags::ACCESSED) && !leaf.contains(PageFlags::DIRTY));
        walk(
            &memory,
            GuestPhysAddr(root),
            GuestVirtAddr(0x40_0000),
            WRITE,
        )
        .unwrap();
        assert!(entry(&memory, root, 0x40_0000).contains(PageFlags::DIRTY));
        let pml4 = read_entry(&memory, GuestPhysAddr(root)).unwrap();
        assert!(PageFlags::from_bits_retain(pml4).contains(PageFlags::ACCESSED));
    }

    #[test]
    fn a_peek_translates_and_leaves_no_trace() {
        let memory = FakeGuestMemory::new(MEMORY);
        let root = mapped(&memory, PageFlags::empty());
        let before = memory.contents().to_vec();
        let mapping = peek(&memory, GuestPhysAddr(root), GuestVirtAddr(0x40_0042)).unwrap();
        assert_eq!(mapping.phys, GuestPhysAddr(0x3042));
        assert!(!mapping.writable);
        assert_eq!(memory.contents(), &before[..]);
        assert!(peek(&memory, GuestPhysAddr(root), GuestVirtAddr(0x50_0000)).is_err());
    }

    #[test]
    fn reports_not_present_and_protection_faults() {
        let memory = FakeGuestMemory::new(MEMORY);
        let root = mapped(&memory, PageFlags::NO_EXECUTE);
        let root = GuestPhysAddr(root);
        let fault = walk(&memory, root, GuestVirtAddr(0x50_0000), WRITE).unwrap_err();
        assert_eq!(fault.error_code, error_code::USER | error_code::WRITE);
        let fault = walk(&memory, root, GuestVirtAddr(0x40_0000), WRITE).unwrap_err();
        assert_eq!(
            fault.error_code,
            error_code::USER | error_code::WRITE | error_code::PRESENT
        );
        let fault = walk(&memory, root, GuestVirtAddr(0x40_0000), FETCH).unwrap_err();
        assert_eq!(
            fault.error_code,
            error_code::USER | error_code::FETCH | error_code::PRESENT
        );
        assert!(!entry(&memory, root.as_u64(), 0x40_0000).contains(PageFlags::DIRTY));
    }

    #[test]
    fn a_user_access_needs_the_user_bit_at_every_level() {
        let memory = FakeGuestMemory::new(MEMORY);
        let (mut tables, root) = setup(&memory);
        let user = PageFlags::USER | PageFlags::WRITABLE;
        page_table::map(&mut tables, root, 0x40_0000, 0x3000, PageSize::Size4K, user).unwrap();
        // Same tables, a supervisor leaf beside it.
        page_table::map(
            &mut tables,
            root,
            0x40_1000,
            0x4000,
            PageSize::Size4K,
            PageFlags::WRITABLE,
        )
        .unwrap();
        let root = GuestPhysAddr(root);
        assert!(walk_user(&memory, root, GuestVirtAddr(0x40_0000), WRITE).is_ok());
        let fault = walk_user(&memory, root, GuestVirtAddr(0x40_1000), READ).unwrap_err();
        assert_eq!(fault.error_code, error_code::USER | error_code::PRESENT);
        // The guest kernel reaches both.
        assert!(walk(&memory, root, GuestVirtAddr(0x40_1000), WRITE).is_ok());
        // A user leaf under a supervisor-only table is not a user page.
        let memory = FakeGuestMemory::new(MEMORY);
        let (mut tables, top) = setup(&memory);
        page_table::map(&mut tables, top, 0x40_0000, 0x3000, PageSize::Size4K, user).unwrap();
        let pml4 = read_entry(&memory, GuestPhysAddr(top)).unwrap();
        write_entry(&memory, GuestPhysAddr(top), pml4 & !PageFlags::USER.bits());
        let fault = walk_user(&memory, GuestPhysAddr(top), GuestVirtAddr(0x40_0000), READ);
        assert_eq!(
            fault.unwrap_err().error_code,
            error_code::USER | error_code::PRESENT
        );
        assert!(walk(&memory, GuestPhysAddr(top), GuestVirtAddr(0x40_0000), READ).is_ok());
    }

    #[test]
    fn large_pages_and_non_canonical_addresses() {
        let memory = FakeGuestMemory::new(4 << 20);
        let mut tables = FakeGuestTables::new(&memory);
        let root = tables.alloc_table().unwrap();
        page_table::map(
            &mut tables,
            root,
            0x4000_0000,
            0x20_0000,
            PageSize::Size2M,
            PageFlags::WRITABLE,
        )
        .unwrap();
        let mapping = walk(
            &memory,
            GuestPhysAddr(root),
            GuestVirtAddr(0x4012_3456),
            WRITE,
        )
        .unwrap();
        assert_eq!(mapping.phys, GuestPhysAddr(0x32_3456));
        assert_eq!(mapping.size, PageSize::Size2M);
        assert!(mapping.leaf.contains(PageFlags::DIRTY | PageFlags::HUGE));
        for addr in [0x0000_8000_0000_0000, 0xffff_8000_0000_0000] {
            let fault = walk(&memory, GuestPhysAddr(root), GuestVirtAddr(addr), READ).unwrap_err();
            assert_eq!(fault.error_code & error_code::PRESENT, 0);
        }
    }

    #[test]
    fn frames_outside_memory_never_map() {
        let memory = FakeGuestMemory::new(MEMORY);
        let (mut tables, root) = setup(&memory);
        let outside = (MEMORY as u64) + 0x1000;
        page_table::map(
            &mut tables,
            root,
            0x40_0000,
            outside,
            PageSize::Size4K,
            PageFlags::WRITABLE,
        )
        .unwrap();
        let fault = walk(&memory, GuestPhysAddr(root), GuestVirtAddr(0x40_0000), READ).unwrap_err();
        assert_ne!(fault.error_code & error_code::RESERVED, 0);
        // A large page that runs past the end of memory is refused too.
        page_table::map(
            &mut tables,
            root,
            0x4000_0000,
            0,
            PageSize::Size2M,
            PageFlags::empty(),
        )
        .unwrap();
        assert!(
            walk(
                &memory,
                GuestPhysAddr(root),
                GuestVirtAddr(0x4000_0000),
                READ
            )
            .is_err()
        );
        // An intermediate table outside memory.
        write_entry(&memory, GuestPhysAddr(root + 8), outside | 3);
        let fault = walk(
            &memory,
            GuestPhysAddr(root),
            GuestVirtAddr(0x80_0000_0000),
            READ,
        )
        .unwrap_err();
        assert_ne!(fault.error_code & error_code::RESERVED, 0);
    }

    #[test]
    fn reserved_bits_fault_as_the_mmu_would() {
        let memory = FakeGuestMemory::new(4 << 20);
        let mut tables = FakeGuestTables::new(&memory);
        let root = tables.alloc_table().unwrap();
        page_table::map(
            &mut tables,
            root,
            0x4000_0000,
            0x20_0000,
            PageSize::Size2M,
            PageFlags::WRITABLE,
        )
        .unwrap();
        let reserved = error_code::USER | error_code::PRESENT | error_code::RESERVED;
        // The 2 MiB leaf's slot, found through the tables.
        let pml4 = read_entry(&memory, GuestPhysAddr(root)).unwrap() & ADDRESS_MASK;
        let pdpt_slot = GuestPhysAddr(pml4 + 8 * table_index(0x4000_0000, 2) as u64);
        let pd = read_entry(&memory, pdpt_slot).unwrap() & ADDRESS_MASK;
        let pd_slot = GuestPhysAddr(pd + 8 * table_index(0x4000_0000, 1) as u64);
        let leaf = read_entry(&memory, pd_slot).unwrap();
        // A base with bit 13 set is not 2 MiB aligned: reserved.
        write_entry(&memory, pd_slot, leaf | 1 << 13);
        let fault = walk(
            &memory,
            GuestPhysAddr(root),
            GuestVirtAddr(0x4000_0000),
            READ,
        );
        assert_eq!(fault.unwrap_err().error_code, reserved);
        // The PAT bit (12) of a large page is not reserved.
        write_entry(&memory, pd_slot, leaf | 1 << 12);
        assert!(
            walk(
                &memory,
                GuestPhysAddr(root),
                GuestVirtAddr(0x4000_0000),
                READ
            )
            .is_ok()
        );
        // A 1 GiB leaf with bits below 30 set in its base (its PAT bit
        // is not reserved); a 4 KiB entry has no reserved bits here.
        let giant = PageFlags::PRESENT.bits() | PageFlags::HUGE.bits() | 1 << 30;
        assert!(reserved_bits_set(giant | 1 << 21, 2));
        assert!(!reserved_bits_set(giant | 1 << 12, 2));
        assert!(!reserved_bits_set(0x1000 | 1 << 13 | 1, 0));
        // A page-size bit in a PML4 entry.
        let entry = read_entry(&memory, GuestPhysAddr(root)).unwrap();
        write_entry(&memory, GuestPhysAddr(root), entry | PageFlags::HUGE.bits());
        let fault = walk(
            &memory,
            GuestPhysAddr(root),
            GuestVirtAddr(0x4000_0000),
            WRITE,
        );
        assert_eq!(fault.unwrap_err().error_code, reserved | error_code::WRITE);
    }

    #[test]
    fn a_table_pointing_to_itself_walks_to_the_tables() {
        let memory = FakeGuestMemory::new(MEMORY);
        let root = mapped(&memory, PageFlags::WRITABLE);
        // Recursive slot 5: the root maps itself.
        write_entry(&memory, GuestPhysAddr(root + 8 * 5), root | 3);
        let recursive = 5u64 << 39 | 5 << 30 | 5 << 21 | 5 << 12;
        let mapping = walk(&memory, GuestPhysAddr(root), GuestVirtAddr(recursive), READ).unwrap();
        assert_eq!(mapping.phys, GuestPhysAddr(root));
    }
}
