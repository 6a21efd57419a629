//! Shadow paging: the page tables the hardware walks for a domain, built
//! from the guest's own tables on demand.
//!
//! The guest's tables (guest-virtual to guest-physical, in guest memory)
//! are never loaded into CR3. For each guest root the domain uses, a shadow
//! root (guest-virtual to machine, in hypervisor frames) starts empty and is
//! filled one 4 KiB page at a time as the guest faults: the hypervisor walks
//! the guest's tables, checks the access, translates the frame through the
//! p2m, and installs the translation. This is a software TLB, and it keeps
//! the TLB contract: a change to a guest entry is seen only after the guest
//! invalidates it.
//!
//! - Accessed and dirty bits are emulated: the walk sets them in the guest
//!   entries, and a page is shadowed read-only until the guest writes it (or
//!   its dirty bit is already set), so the first write reaches the walk.
//! - Guest 2 MiB and 1 GiB pages are shadowed as 4 KiB pieces marked with
//!   [`LARGE_ORIGIN`] or [`GIANT_ORIGIN`], so that invalidating any address
//!   of a large page drops every piece of it.
//! - Up to [`CACHED_ROOTS`] shadow roots are kept, least recently used
//!   evicted, so switching between address spaces does not start from
//!   scratch. Like PCID-tagged TLBs, a cached root keeps its translations
//!   until the guest invalidates them.
//! - Each guest root has two views: the guest kernel's, and guest-user
//!   mode's ([`View::User`]), which is filled by walks that need the user
//!   bit at every level, so it never holds the guest kernel's pages. A
//!   mode change is a change of view ([`Shadow::set_view`]); invalidation
//!   drops a page from both.
//! - Shadow tables come from a fixed per-domain pool. When it runs dry, every
//!   shadow of the domain is dropped and refilled on demand: filling never
//!   fails and never takes memory from another domain.
//!
//! The upper half of every shadow root is the hypervisor's (supervisor-only)
//! and the lower half maps only the domain's own frames.

use super::address::{
    GuestFrame, GuestPhysAddr, GuestVirtAddr, PAGE_SIZE, align_down, is_guest_address,
};
use super::guest_memory::GuestPhysMemory;
use super::guest_walk::{self, Access, GuestFault, error_code};
use super::page_table::{self, MapError, PageFlags, PageSize, TableMemory};

/// Shadow roots kept per domain (a guest root's two views are two roots).
pub const CACHED_ROOTS: usize = 8;

/// Which of a guest root's two shadows the hardware walks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    /// The guest kernel's: every page the guest maps.
    #[default]
    Kernel,
    /// Guest-user mode's: only pages with the user bit at every level.
    User,
}
/// Software bit in a shadow leaf: the guest mapped this page as part of a
/// large page.
pub const LARGE_ORIGIN: PageFlags = PageFlags::from_bits_retain(1 << 9);
/// Software bit in a shadow leaf: the guest mapped this page as part of a
/// 1 GiB page.
pub const GIANT_ORIGIN: PageFlags = PageFlags::from_bits_retain(1 << 10);
/// Software bit of a shadow leaf: the frame is not the domain's own RAM (a
/// page another domain granted, device registers), so the hypervisor never
/// reaches it through the domain's addresses ([`Shadow::lookup`] skips it).
pub const FOREIGN: PageFlags = PageFlags::from_bits_retain(1 << 11);

/// What backs a guest frame, as the shadow maps it: the machine address,
/// whether the domain may write it, and what kind of frame it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backing {
    machine: u64,
    writable: bool,
    kind: BackingKind,
}

/// The kinds of [`Backing`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BackingKind {
    Ram,
    Foreign,
    Device,
}

impl Backing {
    /// A frame of the domain's own memory at `machine`.
    pub const fn ram(machine: u64) -> Self {
        Self {
            machine,
            writable: true,
            kind: BackingKind::Ram,
        }
    }

    /// Another domain's frame at `machine`, lent to this one.
    pub const fn foreign(machine: u64, writable: bool) -> Self {
        Self {
            machine,
            writable,
            kind: BackingKind::Foreign,
        }
    }

    /// Device registers at `machine`: mapped uncached.
    pub const fn device(machine: u64) -> Self {
        Self {
            machine,
            writable: true,
            kind: BackingKind::Device,
        }
    }

    /// The machine address of the frame.
    pub const fn machine(&self) -> u64 {
        self.machine
    }

    /// Whether the domain may write the frame.
    pub const fn writable(&self) -> bool {
        self.writable
    }

    /// Whether the frame is the domain's own memory.
    pub const fn is_ram(&self) -> bool {
        matches!(self.kind, BackingKind::Ram)
    }

    /// The shadow-leaf bits the kind adds.
    fn extra_flags(&self) -> PageFlags {
        match self.kind {
            BackingKind::Ram => PageFlags::empty(),
            BackingKind::Foreign => FOREIGN,
            BackingKind::Device => FOREIGN | PageFlags::NO_CACHE | PageFlags::WRITE_THROUGH,
        }
    }
}

/// What the hardware TLB needs after a shadow change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlbFlush {
    /// Nothing cached can be stale.
    None,
    /// Invalidate one page of the current address space.
    Page(GuestVirtAddr),
    /// Reload CR3.
    All,
}

/// Counters, for tests and the bench.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShadowStats {
    /// Pages filled.
    pub fills: u64,
    /// Roots built from scratch.
    pub root_misses: u64,
    /// Times the pool ran dry and every shadow was dropped.
    pub recycles: u64,
}

/// A fixed pool of table frames over some [`TableMemory`].
pub struct TablePool<T> {
    memory: T,
    free: alloc::vec::Vec<u64>,
    capacity: usize,
}

impl<T: TableMemory> TablePool<T> {
    /// Takes `frames` tables from `memory` for the pool, or `None` (having
    /// returned what it took) if `memory` cannot provide them.
    pub fn new(mut memory: T, frames: usize) -> Option<Self> {
        let mut free = alloc::vec::Vec::new();
        free.try_reserve_exact(frames).ok()?;
        for _ in 0..frames {
            match memory.alloc_table() {
                Some(table) => free.push(table),
                None => {
                    free.into_iter().for_each(|table| memory.free_table(table));
                    return None;
                }
            }
        }
        Some(Self {
            memory,
            free,
            capacity: frames,
        })
    }

    /// Frames not in use.
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// Frames in use (shadow roots included): the pool's size minus the
    /// free ones.
    pub fn in_use(&self) -> usize {
        self.capacity - self.free.len()
    }

    /// Gives every frame back to the underlying memory.
    pub fn release(mut self) {
        while let Some(table) = self.free.pop() {
            self.memory.free_table(table);
        }
    }
}

impl<T: TableMemory> TableMemory for TablePool<T> {
    fn read_entry(&self, table: u64, index: usize) -> u64 {
        self.memory.read_entry(table, index)
    }
    fn write_entry(&mut self, table: u64, index: usize, value: u64) {
        self.memory.write_entry(table, index, value)
    }
    fn alloc_table(&mut self) -> Option<u64> {
        let table = self.free.pop()?;
        self.memory.zero_table(table);
        Some(table)
    }
    fn zero_table(&mut self, table: u64) {
        self.memory.zero_table(table)
    }
    fn write_entries(&mut self, table: u64, first: usize, values: &[u64]) {
        self.memory.write_entries(table, first, values)
    }
    fn next_present(&self, table: u64, range: core::ops::Range<usize>) -> Option<usize> {
        self.memory.next_present(table, range)
    }
    fn free_table(&mut self, table: u64) {
        self.free.push(table);
    }
}

/// What a cached root shadows: a guest root (page-aligned) and, in bit 0,
/// the view, so that finding a root is one comparison per slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RootKey(u64);

impl RootKey {
    #[inline(always)]
    fn new(guest: GuestPhysAddr, view: View) -> Self {
        Self(guest.as_u64() | u64::from(view == View::User))
    }

    #[inline(always)]
    fn guest(self) -> GuestPhysAddr {
        GuestPhysAddr(self.0 & !1)
    }

    #[inline(always)]
    fn view(self) -> View {
        match self.0 & 1 {
            0 => View::Kernel,
            _ => View::User,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct CachedRoot {
    key: RootKey,
    machine: u64,
    last_used: u64,
}

/// The shadow state of one domain.
pub struct Shadow<T> {
    pool: TablePool<T>,
    roots: [Option<CachedRoot>; CACHED_ROOTS],
    current: usize,
    /// The current root's view (kept apart: read on every switch).
    view: View,
    clock: u64,
    upper_half: [u64; 256],
    stats: ShadowStats,
    /// Some root may hold pieces of a guest 1 GiB page (they span up to
    /// 512 tables, so invalidating any address drops every translation).
    giant_pieces: bool,
}

/// A lower-half shadow leaf: user-accessible, writable only when `writable`,
/// marked with the size of the guest page it is a piece of.
fn leaf_flags(writable: bool, executable: bool, size: PageSize) -> PageFlags {
    let mut flags = PageFlags::USER;
    flags.set(PageFlags::WRITABLE, writable);
    flags.set(PageFlags::NO_EXECUTE, !executable);
    match size {
        PageSize::Size4K => flags,
        PageSize::Size2M => flags | LARGE_ORIGIN,
        PageSize::Size1G => flags | GIANT_ORIGIN,
    }
}

impl<T: TableMemory> Shadow<T> {
    /// Shadow state for a domain whose first address space is `guest_root`,
    /// with tables from `pool`; `upper_half` is copied into every root.
    pub fn new(
        mut pool: TablePool<T>,
        upper_half: [u64; 256],
        guest_root: GuestPhysAddr,
    ) -> Option<Self> {
        let machine = pool.alloc_table()?;
        let mut shadow = Self {
            pool,
            roots: [None; CACHED_ROOTS],
            current: 0,
            view: View::Kernel,
            clock: 0,
            upper_half,
            stats: ShadowStats::default(),
            giant_pieces: false,
        };
        shadow.install_upper_half(machine);
        shadow.roots[0] = Some(CachedRoot {
            key: RootKey::new(guest_root, View::Kernel),
            machine,
            last_used: 0,
        });
        Some(shadow)
    }

    fn install_upper_half(&mut self, machine: u64) {
        self.pool.write_entries(machine, 256, &self.upper_half);
    }

    #[inline(always)]
    fn current_root(&self) -> CachedRoot {
        self.roots[self.current].expect("the current shadow root always exists")
    }

    /// The guest's current root (its virtual CR3).
    pub fn guest_root(&self) -> GuestPhysAddr {
        self.current_root().key.guest()
    }

    /// The shadow root to load into CR3.
    pub fn machine_root(&self) -> u64 {
        self.current_root().machine
    }

    /// Counters so far.
    pub fn stats(&self) -> ShadowStats {
        self.stats
    }

    /// Shadow table frames still free in the pool.
    pub fn pool_available(&self) -> usize {
        self.pool.available()
    }

    /// Shadow table frames in use, roots included: the memory shadowing
    /// costs the domain now.
    pub fn tables_in_use(&self) -> usize {
        self.pool.in_use()
    }

    /// The view the hardware walks.
    #[inline(always)]
    pub fn view(&self) -> View {
        self.view
    }

    /// Switches to the guest root `guest` in the current view, reusing its
    /// cached shadow if there is one, else evicting the least recently used
    /// root. Inlined into each caller (the `mmu_set_base` hypercall and the
    /// emulated `mov cr3`), as it was into its only one.
    #[inline(always)]
    pub fn switch(&mut self, guest: GuestPhysAddr) {
        self.select(guest, self.view());
    }

    /// Switches the current guest root to `view` (a change of the vCPU's
    /// mode); returns whether the shadow root to load changed.
    #[inline(always)]
    pub fn set_view(&mut self, view: View) -> bool {
        if self.view() == view {
            return false;
        }
        self.select(self.guest_root(), view);
        true
    }

    #[inline(always)]
    fn select(&mut self, guest: GuestPhysAddr, view: View) {
        self.clock += 1;
        self.view = view;
        let key = RootKey::new(guest, view);
        if let Some(index) = self
            .roots
            .iter()
            .position(|r| r.is_some_and(|r| r.key == key))
        {
            self.current = index;
        } else {
            self.stats.root_misses += 1;
            let index = match self.roots.iter().position(Option::is_none) {
                Some(free) => {
                    // One root per slot: the pool always holds one for it,
                    // because recycle never frees roots.
                    let machine = self.alloc_root();
                    self.roots[free] = Some(CachedRoot {
                        key,
                        machine,
                        last_used: 0,
                    });
                    free
                }
                None => {
                    let victim = (0..CACHED_ROOTS)
                        .min_by_key(|&i| self.roots[i].map_or(0, |r| r.last_used))
                        .unwrap_or(0);
                    let machine = self.roots[victim].map(|r| r.machine).unwrap_or(0);
                    page_table::free_subtree(&mut self.pool, machine, 0..256);
                    self.roots[victim] = Some(CachedRoot {
                        key,
                        machine,
                        last_used: 0,
                    });
                    victim
                }
            };
            self.current = index;
        }
        if let Some(root) = self.roots[self.current].as_mut() {
            root.last_used = self.clock;
        }
    }

    fn alloc_root(&mut self) -> u64 {
        let machine = match self.pool.alloc_table() {
            Some(table) => table,
            None => {
                self.stats.recycles += 1;
                self.drop_translations();
                self.pool
                    .alloc_table()
                    .expect("a recycled pool holds a root")
            }
        };
        self.install_upper_half(machine);
        machine
    }

    /// The machine address the current shadow maps `addr` to, if it maps it
    /// for a user access, and for writing when `write` (a writable shadow
    /// leaf means the guest's accessed and dirty bits are set already).
    /// A [`FOREIGN`] frame is never answered: the hypervisor reaches only
    /// the domain's own memory through its addresses.
    pub fn lookup(&self, addr: GuestVirtAddr, write: bool) -> Option<u64> {
        if !is_guest_address(addr.as_u64()) {
            return None;
        }
        let (table, index) = page_table::leaf_slot(&self.pool, self.machine_root(), addr.as_u64())?;
        let leaf = PageFlags::from_bits_retain(self.pool.read_entry(table, index));
        let needed = if write {
            PageFlags::PRESENT | PageFlags::USER | PageFlags::WRITABLE
        } else {
            PageFlags::PRESENT | PageFlags::USER
        };
        (leaf.contains(needed) && !leaf.contains(FOREIGN))
            .then(|| (leaf.bits() & page_table::ADDRESS_MASK) + addr.page_offset())
    }

    /// Handles a hardware page fault at `addr`: walks the guest's tables and
    /// installs the translation, or returns the fault the guest must see.
    /// `p2m` gives what backs a guest frame. A write to a read-only
    /// [`Backing`] is the guest's protection fault.
    pub fn fill<M: GuestPhysMemory + ?Sized>(
        &mut self,
        memory: &M,
        p2m: impl Fn(GuestFrame) -> Option<Backing>,
        addr: GuestVirtAddr,
        access: Access,
    ) -> Result<TlbFlush, GuestFault> {
        let current = self.current_root();
        let mapping = match current.key.view() {
            View::Kernel => guest_walk::walk(memory, current.key.guest(), addr, access)?,
            View::User => guest_walk::walk_user(memory, current.key.guest(), addr, access)?,
        };
        let backing = p2m(mapping.phys.frame()).ok_or(GuestFault {
            error_code: error_code::USER | error_code::PRESENT | error_code::RESERVED,
        })?;
        if access.write && !backing.writable {
            return Err(GuestFault {
                error_code: error_code::USER | error_code::PRESENT | error_code::WRITE,
            });
        }
        let machine = backing.machine;
        let writable = backing.writable
            && mapping.writable
            && (access.write || mapping.leaf.contains(PageFlags::DIRTY));
        let flags = leaf_flags(writable, mapping.executable, mapping.size) | backing.extra_flags();
        let page = align_down(addr.as_u64(), PAGE_SIZE);
        let root = current.machine;
        let mut result =
            page_table::remap(&mut self.pool, root, page, machine, PageSize::Size4K, flags);
        let mut flush = TlbFlush::None;
        if result == Err(MapError::OutOfMemory) {
            self.stats.recycles += 1;
            self.drop_translations();
            flush = TlbFlush::All;
            result =
                page_table::remap(&mut self.pool, root, page, machine, PageSize::Size4K, flags);
        }
        result.expect("an emptied pool holds the three tables one page needs");
        self.giant_pieces |= mapping.size == PageSize::Size1G;
        self.stats.fills += 1;
        Ok(flush)
    }

    /// Drops every shadow translation (roots are kept).
    fn drop_translations(&mut self) {
        for root in self
            .roots
            .iter()
            .flatten()
            .map(|r| r.machine)
            .collect::<alloc::vec::Vec<_>>()
        {
            page_table::free_subtree(&mut self.pool, root, 0..256);
        }
        self.giant_pieces = false;
    }

    /// The guest invalidated `addr`: drop it from every cached root. If the
    /// page table holding it also holds pieces of a guest 2 MiB page, all of
    /// those go too (the address may lie in that large page). Pieces of a
    /// 1 GiB page span many tables, some of which the address's walk may
    /// not reach, so while any root holds one every translation goes.
    ///
    /// Only the guest's half is ever walked: an address in the upper half
    /// (the hypervisor's own tables, shared by every root) or a
    /// non-canonical one names no guest translation and changes nothing.
    /// Inlined into each caller (the hypercall and the emulated `invlpg`).
    #[inline(always)]
    pub fn invalidate_page(&mut self, addr: GuestVirtAddr) -> TlbFlush {
        if !is_guest_address(addr.as_u64()) {
            return TlbFlush::None;
        }
        if self.giant_pieces {
            self.drop_translations();
            return TlbFlush::All;
        }
        let roots: [Option<u64>; CACHED_ROOTS] =
            core::array::from_fn(|i| self.roots[i].map(|r| r.machine));
        let mut flush = TlbFlush::Page(addr);
        for root in roots.into_iter().flatten() {
            let Some((table, index)) = page_table::leaf_slot(&self.pool, root, addr.as_u64())
            else {
                continue;
            };
            let entry = PageFlags::from_bits_retain(self.pool.read_entry(table, index));
            self.pool.write_entry(table, index, 0);
            if entry.contains(PageFlags::PRESENT) && !entry.contains(LARGE_ORIGIN) {
                continue;
            }
            for slot in 0..page_table::ENTRIES {
                let other = PageFlags::from_bits_retain(self.pool.read_entry(table, slot));
                if other.contains(LARGE_ORIGIN) {
                    self.pool.write_entry(table, slot, 0);
                    flush = TlbFlush::All;
                }
            }
        }
        flush
    }

    /// Drops every translation of the current address space, in both views.
    pub fn flush_current(&mut self) -> TlbFlush {
        let guest = self.guest_root();
        for index in 0..CACHED_ROOTS {
            if let Some(root) = self.roots[index].filter(|r| r.key.guest() == guest) {
                page_table::free_subtree(&mut self.pool, root.machine, 0..256);
            }
        }
        TlbFlush::All
    }

    /// Drops every translation of every cached address space.
    pub fn flush_all(&mut self) -> TlbFlush {
        self.drop_translations();
        TlbFlush::All
    }

    /// Frees every table (roots included) back to the pool and returns the
    /// pool, for the caller to release.
    pub fn into_pool(mut self) -> TablePool<T> {
        self.drop_translations();
        for root in self.roots.iter().flatten() {
            self.pool.free_table(root.machine);
        }
        self.pool
    }
}

#[cfg(test)]
mod tests;
