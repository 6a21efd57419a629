//! [`TableMemory`] over machine frames: page tables the hardware walks,
//! reached through the direct map and allocated from the global frame
//! allocator.

use super::address::{MachineAddr, MachineFrame};
use super::direct_map::machine_ptr;
use super::frames;
use super::page_table::TableMemory;

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

    fn alloc_table(&mut self) -> Option<u64> {
        frames::allocate_zeroed().map(|frame| frame.start().as_u64())
    }

    fn free_table(&mut self, table: u64) {
        frames::free(MachineFrame(table / 4096));
    }
}
