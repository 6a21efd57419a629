//! Host tests of shadow paging against fake guest memory and fake machine
//! tables.

use super::*;
use crate::mm::address::PAGE_SIZE;
use crate::mm::guest_memory::fake::{FakeGuestMemory, FakeGuestTables};
use crate::mm::page_table::fake::FakeTables;
use crate::mm::page_table::translate;

const GUEST_MEMORY: usize = 8 << 20;
/// Machine address of guest frame n: an arbitrary fixed offset.
const MACHINE_BASE: u64 = 0x1_0000_0000;

fn p2m(frame: GuestFrame) -> Option<Backing> {
    (frame.start().as_u64() < GUEST_MEMORY as u64)
        .then(|| Backing::ram(MACHINE_BASE + frame.start().as_u64()))
}

struct World {
    memory: FakeGuestMemory,
    next_table: u64,
}

impl World {
    fn new() -> Self {
        Self {
            memory: FakeGuestMemory::new(GUEST_MEMORY),
            next_table: GUEST_MEMORY as u64,
        }
    }
    fn tables(&mut self) -> FakeGuestTables<'_> {
        FakeGuestTables {
            memory: &self.memory,
            next: self.next_table,
        }
    }
    fn new_root(&mut self) -> GuestPhysAddr {
        self.next_table -= PAGE_SIZE;
        GuestPhysAddr(self.next_table)
    }
    fn map(&mut self, root: GuestPhysAddr, virt: u64, phys: u64, size: PageSize, flags: PageFlags) {
        let mut tables = self.tables();
        page_table::remap(&mut tables, root.as_u64(), virt, phys, size, flags).unwrap();
        self.next_table = tables.next;
    }
    fn guest_leaf(&mut self, root: GuestPhysAddr, virt: u64) -> PageFlags {
        let tables = self.tables();
        let (table, index) = page_table::leaf_slot(&tables, root.as_u64(), virt).unwrap();
        PageFlags::from_bits_retain(tables.read_entry(table, index))
    }
}

fn shadow(root: GuestPhysAddr, frames: usize) -> Shadow<FakeTables> {
    let tables = FakeTables {
        next: 0x1000,
        ..FakeTables::default()
    };
    let mut upper = [0u64; 256];
    upper[255] = 0xdead_0003;
    Shadow::new(TablePool::new(tables, frames).unwrap(), upper, root).unwrap()
}

const READ: Access = Access::READ;
const WRITE: Access = Access::WRITE;
const FETCH: Access = Access::FETCH;

fn shadow_entry(shadow: &Shadow<FakeTables>, virt: u64) -> Option<page_table::Translation> {
    translate(&shadow.pool, shadow.machine_root(), virt)
}

#[test]
fn first_read_maps_read_only_and_the_first_write_sets_dirty() {
    let mut world = World::new();
    let root = world.new_root();
    world.map(
        root,
        0x40_0000,
        0x5000,
        PageSize::Size4K,
        PageFlags::WRITABLE,
    );
    let mut shadow = shadow(root, 32);
    shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x40_0010), READ)
        .unwrap();
    let entry = shadow_entry(&shadow, 0x40_0010).unwrap();
    assert_eq!(entry.phys, MACHINE_BASE + 0x5010);
    assert!(entry.flags.contains(PageFlags::USER) && !entry.flags.contains(PageFlags::WRITABLE));
    assert!(!world.guest_leaf(root, 0x40_0000).contains(PageFlags::DIRTY));
    shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x40_0010), WRITE)
        .unwrap();
    assert!(
        shadow_entry(&shadow, 0x40_0010)
            .unwrap()
            .flags
            .contains(PageFlags::WRITABLE)
    );
    assert!(
        world
            .guest_leaf(root, 0x40_0000)
            .contains(PageFlags::DIRTY | PageFlags::ACCESSED)
    );
}

#[test]
fn honours_no_execute_and_read_only_guest_pages() {
    let mut world = World::new();
    let root = world.new_root();
    world.map(
        root,
        0x40_0000,
        0x5000,
        PageSize::Size4K,
        PageFlags::NO_EXECUTE,
    );
    let mut shadow = shadow(root, 32);
    let fault = shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x40_0000), FETCH)
        .unwrap_err();
    assert_eq!(
        fault.error_code,
        error_code::USER | error_code::PRESENT | error_code::FETCH
    );
    let fault = shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x40_0000), WRITE)
        .unwrap_err();
    assert_eq!(
        fault.error_code,
        error_code::USER | error_code::PRESENT | error_code::WRITE
    );
    shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x40_0000), READ)
        .unwrap();
    assert!(
        shadow_entry(&shadow, 0x40_0000)
            .unwrap()
            .flags
            .contains(PageFlags::NO_EXECUTE)
    );
}

#[test]
fn stale_entries_stay_until_invalidated() {
    let mut world = World::new();
    let root = world.new_root();
    world.map(
        root,
        0x40_0000,
        0x5000,
        PageSize::Size4K,
        PageFlags::WRITABLE,
    );
    let mut shadow = shadow(root, 32);
    shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x40_0000), READ)
        .unwrap();
    world.map(
        root,
        0x40_0000,
        0x6000,
        PageSize::Size4K,
        PageFlags::WRITABLE,
    );
    assert_eq!(
        shadow_entry(&shadow, 0x40_0000).unwrap().phys,
        MACHINE_BASE + 0x5000,
        "old mapping until invalidation"
    );
    assert_eq!(
        shadow.invalidate_page(GuestVirtAddr(0x40_0000)),
        TlbFlush::Page(GuestVirtAddr(0x40_0000))
    );
    assert!(shadow_entry(&shadow, 0x40_0000).is_none());
    shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x40_0000), READ)
        .unwrap();
    assert_eq!(
        shadow_entry(&shadow, 0x40_0000).unwrap().phys,
        MACHINE_BASE + 0x6000
    );
}

#[test]
fn large_pages_are_shadowed_in_pieces_and_invalidated_whole() {
    let mut world = World::new();
    let root = world.new_root();
    world.map(
        root,
        0x4000_0000,
        0x20_0000,
        PageSize::Size2M,
        PageFlags::WRITABLE,
    );
    world.map(
        root,
        0x4020_0000,
        0x5000,
        PageSize::Size4K,
        PageFlags::WRITABLE,
    );
    let mut shadow = shadow(root, 32);
    for offset in [0x1000u64, 0x8000, 0x1f_f000] {
        shadow
            .fill(
                &world.memory,
                p2m,
                GuestVirtAddr(0x4000_0000 + offset),
                READ,
            )
            .unwrap();
        assert_eq!(
            shadow_entry(&shadow, 0x4000_0000 + offset).unwrap().phys,
            MACHINE_BASE + 0x20_0000 + offset
        );
    }
    shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x4020_0000), READ)
        .unwrap();
    assert_eq!(
        shadow.invalidate_page(GuestVirtAddr(0x4000_5000)),
        TlbFlush::All
    );
    for offset in [0x1000u64, 0x8000, 0x1f_f000] {
        assert!(shadow_entry(&shadow, 0x4000_0000 + offset).is_none());
    }
    assert!(
        shadow_entry(&shadow, 0x4020_0000).is_some(),
        "other pages stay"
    );
}

#[test]
fn invalidating_any_address_of_a_giant_page_drops_every_piece() {
    // A 1 GiB page at 1 GiB onto guest-physical 0: the memory holds it,
    // with the guest's tables above it.
    const MEMORY: usize = (1 << 30) + (1 << 20);
    let memory = FakeGuestMemory::new(MEMORY);
    let mut tables = FakeGuestTables::new(&memory);
    let root = tables.next - PAGE_SIZE;
    tables.next = root;
    let flags = PageFlags::WRITABLE;
    page_table::remap(&mut tables, root, 0x4000_0000, 0, PageSize::Size1G, flags).unwrap();
    let ram = |frame: GuestFrame| {
        (frame.start().as_u64() < MEMORY as u64)
            .then(|| Backing::ram(MACHINE_BASE + frame.start().as_u64()))
    };
    let mut shadow = shadow(GuestPhysAddr(root), 32);
    shadow
        .fill(&memory, ram, GuestVirtAddr(0x4060_0000), WRITE)
        .unwrap();
    assert_eq!(
        shadow.lookup(GuestVirtAddr(0x4060_0000), true),
        Some(MACHINE_BASE + 0x60_0000)
    );
    // The guest unmaps the page and invalidates its first address, whose
    // 2 MiB region the shadow never filled: the piece elsewhere goes too.
    assert_eq!(
        shadow.invalidate_page(GuestVirtAddr(0x4000_0000)),
        TlbFlush::All
    );
    assert_eq!(shadow.lookup(GuestVirtAddr(0x4060_0000), true), None);
    // With no giant piece left, invalidation is per page again.
    assert_eq!(
        shadow.invalidate_page(GuestVirtAddr(0x4000_0000)),
        TlbFlush::Page(GuestVirtAddr(0x4000_0000))
    );
}

#[test]
fn cached_roots_survive_switches_and_keep_the_upper_half() {
    let mut world = World::new();
    let (a, b) = (world.new_root(), world.new_root());
    world.map(a, 0x40_0000, 0x5000, PageSize::Size4K, PageFlags::WRITABLE);
    world.map(b, 0x40_0000, 0x6000, PageSize::Size4K, PageFlags::WRITABLE);
    let mut shadow = shadow(a, 32);
    shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x40_0000), READ)
        .unwrap();
    shadow.switch(b);
    assert!(shadow_entry(&shadow, 0x40_0000).is_none());
    shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x40_0000), READ)
        .unwrap();
    assert_eq!(
        shadow_entry(&shadow, 0x40_0000).unwrap().phys,
        MACHINE_BASE + 0x6000
    );
    shadow.switch(a);
    assert_eq!(
        shadow_entry(&shadow, 0x40_0000).unwrap().phys,
        MACHINE_BASE + 0x5000,
        "a's shadow is warm"
    );
    assert_eq!(shadow.stats().root_misses, 1);
    assert_eq!(
        shadow.pool.read_entry(shadow.machine_root(), 511),
        0xdead_0003
    );
    // More roots than the cache holds: the least recently used goes.
    for _ in 0..CACHED_ROOTS {
        let root = world.new_root();
        shadow.switch(root);
    }
    shadow.switch(a);
    assert!(
        shadow_entry(&shadow, 0x40_0000).is_none(),
        "a was evicted and starts cold"
    );
}

#[test]
fn an_exhausted_pool_recycles_and_never_fails() {
    let mut world = World::new();
    let root = world.new_root();
    // One page in each of 40 different 2 MiB regions: 40 page tables.
    for region in 0..40u64 {
        world.map(
            root,
            region << 21,
            0x5000,
            PageSize::Size4K,
            PageFlags::WRITABLE,
        );
    }
    let mut shadow = shadow(root, 12);
    for region in 0..40u64 {
        shadow
            .fill(&world.memory, p2m, GuestVirtAddr(region << 21), READ)
            .unwrap();
        assert!(shadow_entry(&shadow, region << 21).is_some());
    }
    assert!(shadow.stats().recycles > 0);
}

#[test]
fn frames_outside_the_domain_are_refused() {
    let mut world = World::new();
    let root = world.new_root();
    world.map(
        root,
        0x40_0000,
        GUEST_MEMORY as u64 + 0x1000,
        PageSize::Size4K,
        PageFlags::WRITABLE,
    );
    let mut shadow = shadow(root, 32);
    let fault = shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x40_0000), READ)
        .unwrap_err();
    assert_ne!(fault.error_code & error_code::RESERVED, 0);
    assert!(shadow_entry(&shadow, 0x40_0000).is_none());
}

#[test]
fn flushes_drop_translations_and_return_tables() {
    let mut world = World::new();
    let root = world.new_root();
    world.map(
        root,
        0x40_0000,
        0x5000,
        PageSize::Size4K,
        PageFlags::WRITABLE,
    );
    let mut shadow = shadow(root, 32);
    let before = shadow.pool_available();
    // Only the root is in use before the first fill.
    assert_eq!(shadow.tables_in_use(), 1);
    shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x40_0000), READ)
        .unwrap();
    assert_eq!(shadow.pool_available(), before - 3);
    assert_eq!(shadow.tables_in_use(), 4);
    assert_eq!(shadow.flush_current(), TlbFlush::All);
    assert!(shadow_entry(&shadow, 0x40_0000).is_none());
    assert_eq!(shadow.pool_available(), before);
    assert_eq!(shadow.tables_in_use(), 1);
    assert_eq!(shadow.into_pool().available(), 32);
}

#[test]
fn invalidating_a_hypervisor_address_leaves_the_upper_half_alone() {
    // The hypervisor's own tables, mapping one page of its image, become
    // the upper half of every shadow root.
    let mut tables = FakeTables {
        next: 0x1000,
        ..FakeTables::default()
    };
    let hypervisor_root = tables.alloc_table().unwrap();
    let image = 0xffff_ffff_8000_0000;
    page_table::map(
        &mut tables,
        hypervisor_root,
        image,
        0x20_0000,
        PageSize::Size4K,
        PageFlags::WRITABLE,
    )
    .unwrap();
    let upper: [u64; 256] =
        core::array::from_fn(|index| tables.read_entry(hypervisor_root, 256 + index));
    let mut world = World::new();
    let root = world.new_root();
    let mut shadow = Shadow::new(TablePool::new(tables, 16).unwrap(), upper, root).unwrap();
    for addr in [
        image,
        image + 0x123,
        0xffff_8000_0000_0000,
        0x0000_8000_0000_0000,
    ] {
        assert_eq!(shadow.invalidate_page(GuestVirtAddr(addr)), TlbFlush::None);
    }
    let still = shadow_entry(&shadow, image).expect("the hypervisor's mapping survives");
    assert_eq!(still.phys, 0x20_0000);
}

#[test]
fn lookup_finds_only_what_the_shadow_maps_for_the_access() {
    let mut world = World::new();
    let root = world.new_root();
    world.map(
        root,
        0x40_0000,
        0x5000,
        PageSize::Size4K,
        PageFlags::WRITABLE,
    );
    let mut shadow = shadow(root, 32);
    assert_eq!(shadow.lookup(GuestVirtAddr(0x40_0010), false), None);
    shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x40_0010), READ)
        .unwrap();
    assert_eq!(
        shadow.lookup(GuestVirtAddr(0x40_0123), false),
        Some(MACHINE_BASE + 0x5123)
    );
    // Shadowed read-only until the guest writes: a write must walk.
    assert_eq!(shadow.lookup(GuestVirtAddr(0x40_0123), true), None);
    shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x40_0010), WRITE)
        .unwrap();
    assert_eq!(
        shadow.lookup(GuestVirtAddr(0x40_0123), true),
        Some(MACHINE_BASE + 0x5123)
    );
    // Invalidated: gone; the hypervisor's half is never looked at.
    shadow.invalidate_page(GuestVirtAddr(0x40_0000));
    assert_eq!(shadow.lookup(GuestVirtAddr(0x40_0123), false), None);
    assert_eq!(
        shadow.lookup(GuestVirtAddr(0xffff_ff00_0000_0000), false),
        None
    );
}

#[test]
fn the_user_view_never_holds_the_guest_kernels_pages() {
    let mut world = World::new();
    let root = world.new_root();
    let user = PageFlags::USER | PageFlags::WRITABLE;
    world.map(root, 0x40_0000, 0x5000, PageSize::Size4K, user);
    world.map(
        root,
        0x80_0000,
        0x6000,
        PageSize::Size4K,
        PageFlags::WRITABLE,
    );
    let mut shadow = shadow(root, 32);
    // The guest kernel fills both pages in its view.
    for addr in [0x40_0000, 0x80_0000] {
        shadow
            .fill(&world.memory, p2m, GuestVirtAddr(addr), Access::READ)
            .unwrap();
    }
    let kernel_root = shadow.machine_root();
    assert!(shadow.set_view(View::User));
    assert!(!shadow.set_view(View::User));
    assert_ne!(shadow.machine_root(), kernel_root);
    assert_eq!(shadow.view(), View::User);
    // The user view starts empty: nothing the kernel filled is in it.
    assert_eq!(shadow.lookup(GuestVirtAddr(0x80_0000), false), None);
    assert_eq!(shadow.lookup(GuestVirtAddr(0x40_0000), false), None);
    shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x40_0000), Access::WRITE)
        .unwrap();
    assert!(shadow.lookup(GuestVirtAddr(0x40_0000), true).is_some());
    let fault = shadow
        .fill(&world.memory, p2m, GuestVirtAddr(0x80_0000), Access::READ)
        .unwrap_err();
    assert_eq!(
        fault.error_code,
        guest_walk::error_code::USER | guest_walk::error_code::PRESENT
    );
    assert_eq!(shadow.lookup(GuestVirtAddr(0x80_0000), false), None);
    // Switching address space keeps the view; both views of a root are
    // flushed together, and invalidation reaches both.
    let other = world.new_root();
    shadow.switch(other);
    assert_eq!(shadow.view(), View::User);
    shadow.switch(root);
    assert!(shadow.lookup(GuestVirtAddr(0x40_0000), false).is_some());
    shadow.invalidate_page(GuestVirtAddr(0x40_0000));
    assert_eq!(shadow.lookup(GuestVirtAddr(0x40_0000), false), None);
    shadow.set_view(View::Kernel);
    assert_eq!(shadow.machine_root(), kernel_root);
    assert!(shadow.lookup(GuestVirtAddr(0x80_0000), false).is_some());
    shadow.flush_current();
    assert_eq!(shadow.lookup(GuestVirtAddr(0x80_0000), false), None);
}

/// Guest memory with one foreign frame above it.
struct WithForeign<'a> {
    memory: &'a FakeGuestMemory,
    frame: GuestFrame,
}

impl GuestPhysMemory for WithForeign<'_> {
    fn size(&self) -> u64 {
        self.memory.size()
    }
    fn frame_ptr(&self, frame: GuestFrame) -> Option<*mut u8> {
        self.memory.frame_ptr(frame)
    }
    fn is_foreign(&self, frame: GuestFrame) -> bool {
        frame == self.frame
    }
}

const FOREIGN_GPA: u64 = 0x80_0000_0000;

/// The shadow's leaf for `virt`, every bit (`translate` keeps only the
/// architectural ones).
fn raw_leaf(shadow: &Shadow<FakeTables>, virt: u64) -> PageFlags {
    let (table, index) = page_table::leaf_slot(&shadow.pool, shadow.machine_root(), virt).unwrap();
    PageFlags::from_bits_retain(shadow.pool.read_entry(table, index))
}
const FOREIGN_MACHINE: u64 = 0x7_7000;

/// Guest tables mapping 0x40_0000 (writable) to the foreign frame at
/// [`FOREIGN_GPA`], and their root.
fn world_with_a_foreign_page() -> (World, GuestPhysAddr) {
    let mut world = World::new();
    let root = world.new_root();
    world.map(
        root,
        0x40_0000,
        FOREIGN_GPA,
        PageSize::Size4K,
        PageFlags::WRITABLE,
    );
    (world, root)
}

impl World {
    /// The world's memory with the frame at [`FOREIGN_GPA`] foreign.
    fn with_foreign(&self) -> WithForeign<'_> {
        WithForeign {
            memory: &self.memory,
            frame: GuestPhysAddr(FOREIGN_GPA).frame(),
        }
    }
}

#[test]
fn a_read_only_foreign_frame_is_mapped_read_only_and_a_write_is_the_guests_fault() {
    let (world, root) = world_with_a_foreign_page();
    let memory = world.with_foreign();
    let p2m = |frame: GuestFrame| {
        (frame.start().as_u64() == FOREIGN_GPA).then(|| Backing::foreign(FOREIGN_MACHINE, false))
    };
    let mut shadow = shadow(root, 32);
    let fault = shadow
        .fill(&memory, p2m, GuestVirtAddr(0x40_0008), WRITE)
        .unwrap_err();
    assert_eq!(
        fault.error_code,
        error_code::USER | error_code::PRESENT | error_code::WRITE
    );
    shadow
        .fill(&memory, p2m, GuestVirtAddr(0x40_0008), READ)
        .unwrap();
    let entry = shadow_entry(&shadow, 0x40_0008).unwrap();
    assert_eq!(entry.phys, FOREIGN_MACHINE + 8);
    assert!(raw_leaf(&shadow, 0x40_0008).contains(FOREIGN));
    assert!(!entry.flags.contains(PageFlags::WRITABLE));
    // The hypervisor never reaches a foreign frame through the guest's addresses.
    assert_eq!(shadow.lookup(GuestVirtAddr(0x40_0008), false), None);
}

#[test]
fn a_writable_foreign_frame_takes_writes_and_device_frames_are_uncached() {
    let (world, root) = world_with_a_foreign_page();
    let memory = world.with_foreign();
    let mut shadow = shadow(root, 32);
    let granted = |_: GuestFrame| Some(Backing::foreign(FOREIGN_MACHINE, true));
    shadow
        .fill(&memory, granted, GuestVirtAddr(0x40_0000), WRITE)
        .unwrap();
    assert!(
        shadow_entry(&shadow, 0x40_0000)
            .unwrap()
            .flags
            .contains(PageFlags::WRITABLE)
    );
    let mut shadow = self::shadow(root, 32);
    let device = |_: GuestFrame| Some(Backing::device(FOREIGN_MACHINE));
    shadow
        .fill(&memory, device, GuestVirtAddr(0x40_0000), READ)
        .unwrap();
    let flags = raw_leaf(&shadow, 0x40_0000);
    assert!(flags.contains(FOREIGN | PageFlags::NO_CACHE | PageFlags::WRITE_THROUGH));
}

#[test]
fn frames_above_memory_are_refused_unless_foreign_and_never_as_large_pages() {
    let mut world = World::new();
    let root = world.new_root();
    world.map(
        root,
        0x40_0000,
        FOREIGN_GPA + 0x1000,
        PageSize::Size4K,
        PageFlags::WRITABLE,
    );
    world.map(
        root,
        0x60_0000,
        FOREIGN_GPA,
        PageSize::Size2M,
        PageFlags::WRITABLE,
    );
    let memory = world.with_foreign();
    let anything = |_: GuestFrame| Some(Backing::foreign(FOREIGN_MACHINE, true));
    let mut shadow = shadow(root, 32);
    let reserved = error_code::USER | error_code::PRESENT | error_code::RESERVED;
    let fault = shadow
        .fill(&memory, anything, GuestVirtAddr(0x40_0000), READ)
        .unwrap_err();
    assert_eq!(fault.error_code & reserved, reserved);
    let fault = shadow
        .fill(&memory, anything, GuestVirtAddr(0x60_0000), READ)
        .unwrap_err();
    assert_eq!(fault.error_code & reserved, reserved);
}
