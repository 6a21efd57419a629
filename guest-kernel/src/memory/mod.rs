//! Guest memory management: the runtime's frame allocator and page-table
//! helper (`shared_abi::guest::memory`, re-exported here), plus what this
//! kernel adds on top: demand-paged regions and the heap.
//!
//! The guest reaches guest-physical memory (its page tables included)
//! through the physical-memory mapping its bootloader config asks for.
//! Changing a mapping follows the TLB discipline: the mapper invalidates
//! through the `mmu_invalidate_page` hypercall; no privileged instruction is
//! ever used.

pub mod demand;
pub mod heap;

pub use shared_abi::guest::memory::{frames, init, paging, phys_to_virt};

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use paging::PageFlags;
use shared_abi::page_table::{ADDRESS_MASK, TableMemory};

/// Bytes of this guest's own page tables: every table reachable from
/// `roots` (guest-physical) through their lower half (the half the
/// hypervisor shadows), each counted once (address spaces may share their
/// lower-level tables). What shadowing is compared with: the hypervisor
/// reports its shadow tables of the domain when it ends.
pub fn table_bytes(roots: &[u64]) -> u64 {
    let mut tables = BTreeSet::new();
    let mut pending: Vec<(u64, u32)> = roots.iter().map(|&root| (root, 3)).collect();
    while let Some((table, level)) = pending.pop() {
        if !tables.insert(table) || level == 0 {
            continue;
        }
        let slots = if level == 3 { 0..256 } else { 0..512 };
        for index in slots {
            let flags = PageFlags::from_bits_retain(paging::GuestTables.read_entry(table, index));
            if flags.contains(PageFlags::PRESENT) && !flags.contains(PageFlags::HUGE) {
                pending.push((flags.bits() & ADDRESS_MASK, level - 1));
            }
        }
    }
    tables.len() as u64 * 4096
}
