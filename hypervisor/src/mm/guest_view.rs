//! A domain's memory as a debugger sees it: read and written by
//! guest-virtual address through the guest's own page tables (the address
//! space the domain runs in), and never outside the domain's memory.
//!
//! Unlike a hypercall's access (`Domain::read_guest`/`write_guest`), a
//! look from outside leaves no trace in the guest's tables (no accessed or
//! dirty bit is set: see [`guest_walk::peek`]), and a write ignores the
//! guest's own write protection, as a debugger planting a breakpoint in
//! read-only code must. Every page of a range is translated on its own: an
//! upper-half or non-canonical address, a page the tables do not map, or a
//! table or frame outside the domain's memory ends the access there.

use super::address::{GuestPhysAddr, GuestVirtAddr, PAGE_SIZE};
use super::guest_memory::{self, GuestPhysMemory};
use super::guest_walk;

/// The first guest-virtual address of an access that is not mapped into
/// the domain's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unmapped(pub GuestVirtAddr);

/// A domain's memory seen through the page tables rooted at `root`.
#[derive(Clone, Copy)]
pub struct GuestView<'a, M: ?Sized> {
    memory: &'a M,
    root: GuestPhysAddr,
}

impl<'a, M: GuestPhysMemory + ?Sized> GuestView<'a, M> {
    /// The view of `memory` through the tables rooted at guest-physical
    /// `root`.
    pub fn new(memory: &'a M, root: GuestPhysAddr) -> Self {
        Self { memory, root }
    }

    /// The guest-physical address behind `addr`, if the tables map it to
    /// the domain's memory.
    pub fn translate(&self, addr: GuestVirtAddr) -> Option<GuestPhysAddr> {
        guest_walk::peek(self.memory, self.root, addr)
            .ok()
            .map(|mapping| mapping.phys)
            .filter(|phys| phys.as_u64() < self.memory.size())
    }

    /// Calls `each(phys, offset, len)` for the page-sized pieces of
    /// `[addr, addr + len)` in order, stopping at the first piece that is
    /// not mapped (whose address it returns).
    fn pieces(
        &self,
        addr: GuestVirtAddr,
        len: usize,
        mut each: impl FnMut(GuestPhysAddr, usize, usize),
    ) -> Result<(), Unmapped> {
        let mut done = 0usize;
        while done < len {
            let cursor = addr
                .checked_add(done as u64)
                .ok_or(Unmapped(GuestVirtAddr(u64::MAX)))?;
            let chunk = ((PAGE_SIZE - cursor.page_offset()) as usize).min(len - done);
            let phys = self.translate(cursor).ok_or(Unmapped(cursor))?;
            each(phys, done, chunk);
            done += chunk;
        }
        Ok(())
    }

    /// Reads from `addr` into `out` up to the first byte that is not
    /// mapped; returns how many bytes were read.
    pub fn read(&self, addr: GuestVirtAddr, out: &mut [u8]) -> usize {
        let mut read = 0;
        let _ = self.pieces(addr, out.len(), |phys, offset, len| {
            if guest_memory::read(self.memory, phys, &mut out[offset..offset + len]).is_ok() {
                read = offset + len;
            }
        });
        read
    }

    /// Writes all of `data` at `addr`, or nothing when any of it is not
    /// mapped.
    pub fn write(&self, addr: GuestVirtAddr, data: &[u8]) -> Result<(), Unmapped> {
        self.pieces(addr, data.len(), |_, _, _| {})?;
        self.pieces(addr, data.len(), |phys, offset, len| {
            let _ = guest_memory::write(self.memory, phys, &data[offset..offset + len]);
        })
    }

    /// The byte at guest-physical `phys`, if it is in the domain's memory.
    pub fn byte_at(&self, phys: GuestPhysAddr) -> Option<u8> {
        let mut byte = [0u8];
        guest_memory::read(self.memory, phys, &mut byte).ok()?;
        Some(byte[0])
    }

    /// Writes the byte at guest-physical `phys` (ignored outside the
    /// domain's memory).
    pub fn set_byte_at(&self, phys: GuestPhysAddr, value: u8) {
        let _ = guest_memory::write(self.memory, phys, &[value]);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::mm::guest_memory::fake::{FakeGuestMemory, FakeGuestTables};
    use crate::mm::page_table::{self, PageFlags, PageSize, TableMemory};
    use std::vec;

    const MEMORY: usize = 64 * PAGE_SIZE as usize;
    /// Two pages mapped read-only at 0x40_0000 (frames 3 and 5), none at
    /// 0x40_2000.
    const CODE: u64 = 0x40_0000;

    fn setup(memory: &FakeGuestMemory) -> GuestPhysAddr {
        let mut tables = FakeGuestTables::new(memory);
        let root = tables.alloc_table().unwrap();
        for (page, frame) in [(CODE, 0x3000), (CODE + PAGE_SIZE, 0x5000)] {
            page_table::map(
                &mut tables,
                root,
                page,
                frame,
                PageSize::Size4K,
                PageFlags::empty(),
            )
            .unwrap();
        }
        GuestPhysAddr(root)
    }

    #[test]
    fn reads_and_writes_across_pages_whatever_the_guest_protection() {
        let memory = FakeGuestMemory::new(MEMORY);
        let view = GuestView::new(&memory, setup(&memory));
        let data: [u8; 8] = core::array::from_fn(|i| i as u8 + 1);
        let addr = GuestVirtAddr(CODE + PAGE_SIZE - 4);
        view.write(addr, &data).unwrap();
        assert_eq!(&memory.contents()[0x3ffc..0x4000], &data[..4]);
        assert_eq!(&memory.contents()[0x5000..0x5004], &data[4..]);
        let mut back = [0u8; 8];
        assert_eq!(view.read(addr, &mut back), 8);
        assert_eq!(back, data);
    }

    #[test]
    fn stops_at_the_first_unmapped_byte() {
        let memory = FakeGuestMemory::new(MEMORY);
        let view = GuestView::new(&memory, setup(&memory));
        let mut out = vec![0u8; 32];
        let addr = GuestVirtAddr(CODE + 2 * PAGE_SIZE - 16);
        assert_eq!(view.read(addr, &mut out), 16);
        let before = memory.contents().to_vec();
        assert_eq!(
            view.write(addr, &out),
            Err(Unmapped(GuestVirtAddr(CODE + 2 * PAGE_SIZE)))
        );
        assert_eq!(memory.contents(), &before[..], "nothing written");
    }

    #[test]
    fn refuses_addresses_outside_the_domain() {
        let memory = FakeGuestMemory::new(MEMORY);
        let mut tables = FakeGuestTables::new(&memory);
        let root = tables.alloc_table().unwrap();
        // A page whose frame lies beyond the domain's memory.
        page_table::map(
            &mut tables,
            root,
            CODE,
            MEMORY as u64 + 0x1000,
            PageSize::Size4K,
            PageFlags::WRITABLE,
        )
        .unwrap();
        let view = GuestView::new(&memory, GuestPhysAddr(root));
        let mut out = [0u8; 4];
        for addr in [
            CODE,
            0xffff_8000_0000_0000,
            0x0000_8000_0000_0000,
            u64::MAX - 1,
            0,
        ] {
            assert_eq!(view.translate(GuestVirtAddr(addr)), None, "{addr:#x}");
            assert_eq!(view.read(GuestVirtAddr(addr), &mut out), 0, "{addr:#x}");
            assert!(view.write(GuestVirtAddr(addr), &out).is_err(), "{addr:#x}");
        }
        // A root outside memory translates nothing.
        let wild = GuestView::new(&memory, GuestPhysAddr(MEMORY as u64 * 2));
        assert_eq!(wild.translate(GuestVirtAddr(CODE)), None);
        assert_eq!(wild.byte_at(GuestPhysAddr(MEMORY as u64)), None);
    }
}
