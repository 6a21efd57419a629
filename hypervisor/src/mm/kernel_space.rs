//! The hypervisor's own address space, which replaces the boot tables.
//!
//! Layout (upper half only; the lower half belongs to guests):
//!
//! ```text
//! 0xffff_8000_0000_0000  direct map of machine memory (2 MiB pages, RW, NX)
//! 0xffff_ffff_8000_0000  the hypervisor image: text RX, rodata R, data+bss RW NX
//!                        (4 KiB pages; the boot stack's lowest page is a guard)
//! ```
//!
//! Every mapping is supervisor-only and global. Each domain's address space
//! shares these upper-half tables by copying the PML4 entries 256..512, so
//! the hypervisor is mapped identically, and never user-accessible, in all
//! of them.

use spin::Once;

use super::address::{LARGE_PAGE_SIZE, MachineAddr, PAGE_SIZE, align_up};
use super::direct_map::{DIRECT_MAP_BASE, DIRECT_MAP_SIZE};
use super::machine_tables::MachineTables;
use super::page_table::{self, PageFlags, PageSize, TableMemory};

/// Where the image is linked (see linker.ld).
pub const KERNEL_VMA: u64 = 0xffff_ffff_8000_0000;

unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __data_end: u8;
}

static ROOT: Once<MachineAddr> = Once::new();

/// Builds the hypervisor's tables for machine memory up to `ram_top`, with
/// the page at `stack_guard` (below the boot stack) left unmapped, and
/// returns their root for the caller to load: they map the running code,
/// its stack, its data and the direct map exactly as the boot tables did.
pub fn init(ram_top: u64, stack_guard: u64) -> MachineAddr {
    let mut tables = MachineTables;
    let root = tables
        .alloc_table()
        .expect("no memory for the hypervisor's page tables");
    let global = PageFlags::GLOBAL | PageFlags::NO_EXECUTE;

    let direct_end = align_up(ram_top.max(4 << 30), LARGE_PAGE_SIZE)
        .unwrap_or(DIRECT_MAP_SIZE)
        .min(DIRECT_MAP_SIZE);
    for machine in (0..direct_end).step_by(LARGE_PAGE_SIZE as usize) {
        let flags = global | PageFlags::WRITABLE;
        page_table::map(
            &mut tables,
            root,
            DIRECT_MAP_BASE + machine,
            machine,
            PageSize::Size2M,
            flags,
        )
        .expect("direct map");
    }

    let (text, rodata, data) = (
        (&raw const __text_start) as u64..(&raw const __text_end) as u64,
        (&raw const __rodata_start) as u64..(&raw const __rodata_end) as u64,
        (&raw const __data_start) as u64..(&raw const __data_end) as u64,
    );
    let guard = stack_guard;
    let sections = [
        (text, PageFlags::GLOBAL),
        (rodata, global),
        (data, global | PageFlags::WRITABLE),
    ];
    for (range, flags) in sections {
        for virt in range
            .step_by(PAGE_SIZE as usize)
            .filter(|virt| *virt != guard)
        {
            page_table::map(
                &mut tables,
                root,
                virt,
                virt - KERNEL_VMA,
                PageSize::Size4K,
                flags,
            )
            .expect("kernel image mapping");
        }
    }

    *ROOT.call_once(|| MachineAddr(root))
}

/// Makes sure the device registers at `[addr, addr + size)` are reachable
/// through the direct map (uncached), mapping the 2 MiB pages around them
/// if RAM did not already cover them. Every address space sees the new
/// mappings: they live below the shared direct-map PML4 entry.
pub fn map_device(addr: MachineAddr, size: u64) {
    let mut tables = MachineTables;
    let root = root().as_u64();
    let first = addr.as_u64() & !(LARGE_PAGE_SIZE - 1);
    let end = addr.as_u64().saturating_add(size.max(1));
    let flags =
        PageFlags::GLOBAL | PageFlags::NO_EXECUTE | PageFlags::WRITABLE | PageFlags::NO_CACHE;
    for machine in (first..end).step_by(LARGE_PAGE_SIZE as usize) {
        if machine >= DIRECT_MAP_SIZE
            || page_table::translate(&tables, root, DIRECT_MAP_BASE + machine).is_some()
        {
            continue;
        }
        let _ = page_table::map(
            &mut tables,
            root,
            DIRECT_MAP_BASE + machine,
            machine,
            PageSize::Size2M,
            flags,
        );
    }
}

/// The hypervisor's root table.
pub fn root() -> MachineAddr {
    *ROOT.get().expect("kernel space used before init")
}

/// The hypervisor's PML4 entries 256..512, to be copied into every domain
/// root so that the hypervisor is mapped identically (and supervisor-only)
/// in all of them.
pub fn upper_half() -> [u64; 256] {
    let tables = MachineTables;
    let kernel = root().as_u64();
    core::array::from_fn(|index| tables.read_entry(kernel, 256 + index))
}
