//! [`TableMemory`] over machine frames: page tables the hardware walks,
//! reached through the direct map and allocated from the global frame
//! allocator.
//!
//! Single entries are read and written with volatile accesses (the MMU
//! reads them, and sets accessed and dirty bits in them while a guest
//! runs). The bulk operations (zeroing, copying, scanning for present
//! entries) use plain accesses to the whole table, which the compiler
//! turns into string instructions and unrolled loops: they run in the
//! hypervisor, on this CPU, while no guest can touch the tables.

use super::address::{MachineAddr, MachineFrame};
use super::direct_map::machine_ptr;
use super::frames;
use super::page_table::TableMemory;

const PRESENT: u64 = 1;

/// The 512 entries of the page-table frame at machine address `table`.
fn entries(table: u64) -> *mut [u64; 512] {
    machine_ptr(MachineAddr(table)).cast()
}

/// Page tables in machine memory.
#[derive(Clone, Copy, Debug, Default)]
pub struct MachineTables;

impl TableMemory for MachineTables {
    fn read_entry(&self, table: u64, index: usize) -> u64 {
        debug_assert!(index < 512);
        // SAFETY: `table` is a page-table frame allocated by this module (or
        // the boot tables), reachable through the direct map; index < 512.
        unsafe {
            machine_ptr(MachineAddr(table))
                .cast::<u64>()
                .add(index)
                .read_volatile()
        }
    }

    fn write_entry(&mut self, table: u64, index: usize, value: u64) {
        debug_assert!(index < 512);
        // SAFETY: as for read_entry; page-table frames are owned by the
        // hypervisor and never mapped into a guest.
        unsafe {
            machine_ptr(MachineAddr(table))
                .cast::<u64>()
                .add(index)
                .write_volatile(value)
        }
    }

    fn zero_table(&mut self, table: u64) {
        // SAFETY: `table` is a whole page-table frame of this module's,
        // reachable through the direct map; no reference to it exists.
        unsafe { entries(table).write_bytes(0, 1) };
    }

    fn write_entries(&mut self, table: u64, first: usize, values: &[u64]) {
        assert!(first + values.len() <= 512, "entries past the table");
        // SAFETY: as for zero_table; the range is inside the table.
        unsafe {
            let to = entries(table).cast::<u64>().add(first);
            core::ptr::copy_nonoverlapping(values.as_ptr(), to, values.len());
        }
    }

    fn next_present(&self, table: u64, range: core::ops::Range<usize>) -> Option<usize> {
        // SAFETY: as for zero_table; the table is only read, and nothing
        // writes it during the scan.
        let table = unsafe { &*entries(table) };
        let range = range.start.min(512)..range.end.min(512);
        let mut index = range.start;
        while index < range.end {
            // Eight entries at a time while a whole group fits.
            if index.is_multiple_of(8) && index + 8 <= range.end {
                let group = &table[index..index + 8];
                if group.iter().fold(0, |any, entry| any | entry) & PRESENT == 0 {
                    index += 8;
                    continue;
                }
            }
            if table[index] & PRESENT != 0 {
                return Some(index);
            }
            index += 1;
        }
        None
    }

    fn alloc_table(&mut self) -> Option<u64> {
        frames::allocate_zeroed().map(|frame| frame.start().as_u64())
    }

    fn free_table(&mut self, table: u64) {
        frames::free(MachineFrame(table / 4096));
    }
}
