//! Software breakpoints: an `int3` (0xcc) written over the first byte of
//! an instruction, and the byte it replaced.
//!
//! Each breakpoint remembers the guest-virtual address gdb named and the
//! guest-physical byte that address reached when it was planted, so that
//! the byte is restored where it was taken from even if the guest has
//! since switched address spaces, and a `#BP` counts as a breakpoint's
//! only where the address still reaches that byte. Reads through
//! [`Breakpoints::hide`] see the original bytes; writes over a breakpoint
//! change the byte it restores and leave the `int3` in place.

use alloc::vec::Vec;

use crate::mm::address::{GuestPhysAddr, GuestVirtAddr};
use crate::mm::guest_memory::GuestPhysMemory;
use crate::mm::guest_view::{GuestView, Unmapped};

/// The `int3` instruction.
pub const INT3: u8 = 0xcc;
/// Most breakpoints planted at once.
pub const MAX_BREAKPOINTS: usize = 256;

/// Why a breakpoint could not be planted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakpointError {
    /// The address is not mapped to the domain's memory.
    Unmapped,
    /// [`MAX_BREAKPOINTS`] are planted already.
    Full,
}

/// One planted breakpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Breakpoint {
    addr: GuestVirtAddr,
    phys: GuestPhysAddr,
    original: u8,
}

/// The breakpoints planted in one domain.
#[derive(Debug, Default)]
pub struct Breakpoints {
    planted: Vec<Breakpoint>,
}

impl Breakpoints {
    /// Plants a breakpoint at `addr` (planting one twice is planting it once).
    pub fn insert<M: GuestPhysMemory + ?Sized>(
        &mut self,
        view: &GuestView<'_, M>,
        addr: GuestVirtAddr,
    ) -> Result<(), BreakpointError> {
        if self.planted.iter().any(|bp| bp.addr == addr) {
            return Ok(());
        }
        if self.planted.len() >= MAX_BREAKPOINTS {
            return Err(BreakpointError::Full);
        }
        let phys = view.translate(addr).ok_or(BreakpointError::Unmapped)?;
        let original = view.byte_at(phys).ok_or(BreakpointError::Unmapped)?;
        view.set_byte_at(phys, INT3);
        self.planted.push(Breakpoint {
            addr,
            phys,
            original,
        });
        Ok(())
    }

    /// Removes the breakpoint at `addr`, restoring the byte it replaced
    /// unless something else has been written there since; `false` if
    /// there was none.
    pub fn remove<M: GuestPhysMemory + ?Sized>(
        &mut self,
        view: &GuestView<'_, M>,
        addr: GuestVirtAddr,
    ) -> bool {
        let Some(index) = self.planted.iter().position(|bp| bp.addr == addr) else {
            return false;
        };
        restore(view, self.planted.swap_remove(index));
        true
    }

    /// Removes every breakpoint, restoring their bytes.
    pub fn remove_all<M: GuestPhysMemory + ?Sized>(&mut self, view: &GuestView<'_, M>) {
        for bp in self.planted.drain(..) {
            restore(view, bp);
        }
    }

    /// Forgets every breakpoint without touching memory (the domain's
    /// memory is gone).
    pub fn forget_all(&mut self) {
        self.planted.clear();
    }

    /// Whether an `int3` at `addr` is one of these breakpoints: planted
    /// there, and `addr` still reaching the byte it was planted in.
    pub fn is_hit<M: GuestPhysMemory + ?Sized>(
        &self,
        view: &GuestView<'_, M>,
        addr: GuestVirtAddr,
    ) -> bool {
        self.planted
            .iter()
            .any(|bp| bp.addr == addr && view.translate(addr) == Some(bp.phys))
    }

    /// Puts back, in `bytes` read from `addr`, the original byte of each
    /// breakpoint they cover.
    pub fn hide<M: GuestPhysMemory + ?Sized>(
        &self,
        view: &GuestView<'_, M>,
        addr: GuestVirtAddr,
        bytes: &mut [u8],
    ) {
        for bp in &self.planted {
            if let Some(offset) = bp.offset_in(view, addr, bytes.len()) {
                bytes[offset] = bp.original;
            }
        }
    }

    /// Writes `data` at `addr`; a breakpoint it covers keeps its `int3`
    /// and will restore the byte written.
    pub fn write<M: GuestPhysMemory + ?Sized>(
        &mut self,
        view: &GuestView<'_, M>,
        addr: GuestVirtAddr,
        data: &[u8],
    ) -> Result<(), Unmapped> {
        view.write(addr, data)?;
        for bp in &mut self.planted {
            if let Some(offset) = bp.offset_in(view, addr, data.len()) {
                bp.original = data[offset];
                view.set_byte_at(bp.phys, INT3);
            }
        }
        Ok(())
    }
}

impl Breakpoint {
    /// Its offset in `[addr, addr + len)`, if it lies there and the view
    /// still reaches the byte it was planted in.
    fn offset_in<M: GuestPhysMemory + ?Sized>(
        &self,
        view: &GuestView<'_, M>,
        addr: GuestVirtAddr,
        len: usize,
    ) -> Option<usize> {
        let offset = self.addr.as_u64().checked_sub(addr.as_u64())?;
        let offset = usize::try_from(offset)
            .ok()
            .filter(|offset| *offset < len)?;
        (view.translate(self.addr) == Some(self.phys)).then_some(offset)
    }
}

/// Puts back the byte `bp` replaced, unless its `int3` was overwritten.
fn restore<M: GuestPhysMemory + ?Sized>(view: &GuestView<'_, M>, bp: Breakpoint) {
    if view.byte_at(bp.phys) == Some(INT3) {
        view.set_byte_at(bp.phys, bp.original);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::mm::address::PAGE_SIZE;
    use crate::mm::guest_memory::fake::{FakeGuestMemory, FakeGuestTables};
    use crate::mm::page_table::{self, PageFlags, PageSize, TableMemory};

    const MEMORY: usize = 64 * PAGE_SIZE as usize;
    const CODE: u64 = 0x40_0000;
    const FRAME: u64 = 0x3000;
    const OTHER_FRAME: u64 = 0x7000;

    /// Tables mapping CODE read-only to `frame`, built in the `slot`-th
    /// group of 8 pages below the end of memory; returns the root.
    fn tables_to(memory: &FakeGuestMemory, frame: u64, slot: u64) -> GuestPhysAddr {
        let mut tables = FakeGuestTables::new(memory);
        tables.next -= 8 * PAGE_SIZE * slot;
        let root = tables.alloc_table().unwrap();
        page_table::map(
            &mut tables,
            root,
            CODE,
            frame,
            PageSize::Size4K,
            PageFlags::empty(),
        )
        .unwrap();
        GuestPhysAddr(root)
    }

    fn code(memory: &FakeGuestMemory, frame: u64) -> &[u8] {
        &memory.contents()[frame as usize..frame as usize + 16]
    }

    fn fill(memory: &FakeGuestMemory, frame: u64) {
        let view = GuestView::new(memory, GuestPhysAddr(0));
        for i in 0..16u64 {
            view.set_byte_at(GuestPhysAddr(frame + i), 0x90 + i as u8);
        }
    }

    #[test]
    fn plants_hides_and_restores() {
        let memory = FakeGuestMemory::new(MEMORY);
        fill(&memory, FRAME);
        let view = GuestView::new(&memory, tables_to(&memory, FRAME, 0));
        let mut bps = Breakpoints::default();
        let at = GuestVirtAddr(CODE + 2);
        bps.insert(&view, at).unwrap();
        bps.insert(&view, at).unwrap();
        assert_eq!(bps.planted.len(), 1);
        assert_eq!(code(&memory, FRAME)[2], INT3);
        assert!(bps.is_hit(&view, at));
        assert!(!bps.is_hit(&view, GuestVirtAddr(CODE + 3)));
        let mut read = [0u8; 4];
        assert_eq!(view.read(GuestVirtAddr(CODE), &mut read), 4);
        bps.hide(&view, GuestVirtAddr(CODE), &mut read);
        assert_eq!(read, [0x90, 0x91, 0x92, 0x93]);
        assert!(bps.remove(&view, at));
        assert!(!bps.remove(&view, at));
        assert_eq!(code(&memory, FRAME)[2], 0x92);
        assert!(bps.planted.is_empty());
    }

    #[test]
    fn refuses_unmapped_addresses_and_too_many() {
        let memory = FakeGuestMemory::new(MEMORY);
        let view = GuestView::new(&memory, tables_to(&memory, FRAME, 0));
        let mut bps = Breakpoints::default();
        for addr in [0, CODE + PAGE_SIZE, 0xffff_8000_0000_1000] {
            assert_eq!(
                bps.insert(&view, GuestVirtAddr(addr)),
                Err(BreakpointError::Unmapped)
            );
        }
        for i in 0..MAX_BREAKPOINTS as u64 {
            bps.insert(&view, GuestVirtAddr(CODE + i % PAGE_SIZE))
                .unwrap();
        }
        assert_eq!(
            bps.insert(&view, GuestVirtAddr(CODE + 0x800)),
            Err(BreakpointError::Full)
        );
        bps.remove_all(&view);
        assert!(
            memory.contents()[FRAME as usize..][..MAX_BREAKPOINTS]
                .iter()
                .all(|byte| *byte == 0)
        );
    }

    #[test]
    fn restores_the_byte_where_it_was_taken_after_a_switch() {
        let memory = FakeGuestMemory::new(MEMORY);
        fill(&memory, FRAME);
        fill(&memory, OTHER_FRAME);
        let first = GuestView::new(&memory, tables_to(&memory, FRAME, 0));
        let second = GuestView::new(&memory, tables_to(&memory, OTHER_FRAME, 1));
        let mut bps = Breakpoints::default();
        let at = GuestVirtAddr(CODE + 5);
        bps.insert(&first, at).unwrap();
        // In the other address space the same address is other code: an
        // int3 there is not this breakpoint, and no byte there is hidden.
        assert!(!bps.is_hit(&second, at));
        let mut read = [0u8; 1];
        second.read(at, &mut read);
        bps.hide(&second, at, &mut read);
        assert_eq!(read, [0x95]);
        bps.remove(&second, at);
        assert_eq!(code(&memory, FRAME)[5], 0x95);
        assert_eq!(code(&memory, OTHER_FRAME)[5], 0x95);
    }

    #[test]
    fn a_write_over_a_breakpoint_changes_what_it_restores() {
        let memory = FakeGuestMemory::new(MEMORY);
        fill(&memory, FRAME);
        let view = GuestView::new(&memory, tables_to(&memory, FRAME, 0));
        let mut bps = Breakpoints::default();
        bps.insert(&view, GuestVirtAddr(CODE + 1)).unwrap();
        bps.write(&view, GuestVirtAddr(CODE), &[1, 2, 3]).unwrap();
        assert_eq!(&code(&memory, FRAME)[..3], &[1, INT3, 3]);
        bps.remove_all(&view);
        assert_eq!(&code(&memory, FRAME)[..3], &[1, 2, 3]);
        assert!(
            bps.write(&view, GuestVirtAddr(CODE + PAGE_SIZE), &[1])
                .is_err()
        );
    }
}
