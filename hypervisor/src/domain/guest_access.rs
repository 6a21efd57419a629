//! Reading and writing guest memory by guest-virtual address, as hypercalls
//! do with their pointer arguments.
//!
//! Every byte is translated through the domain's own tables and must be
//! user-accessible (and writable, for writes) there, and the frame must be
//! the domain's own. Data is copied in or out before it is used, so the
//! guest cannot change it under the hypervisor (no double fetch).

use shared_abi::Status;

use super::record::Domain;
use crate::mm::address::{GuestVirtAddr, MachineAddr, PAGE_SIZE};
use crate::mm::direct_map::machine_ptr;
use crate::mm::page_table::PageFlags;

impl Domain {
    /// Translates and checks each page of `[addr, addr + len)`, calling
    /// `each(machine, offset, len)` for every piece. The whole range is
    /// checked before `each` sees any of it.
    fn guest_pieces(
        &self,
        addr: GuestVirtAddr,
        len: usize,
        write: bool,
        mut each: impl FnMut(MachineAddr, usize, usize),
    ) -> Result<(), Status> {
        if len == 0 {
            return Ok(());
        }
        let end = addr
            .checked_add(len as u64)
            .ok_or(Status::InvalidArgument)?;
        let (Some(space), Some(memory)) = (&self.space, &self.memory) else {
            return Err(Status::BadAddress);
        };
        let required = if write {
            PageFlags::USER | PageFlags::WRITABLE
        } else {
            PageFlags::USER
        };
        let walk = |each: &mut dyn FnMut(MachineAddr, usize, usize)| -> Result<(), Status> {
            let mut cursor = addr;
            let mut offset = 0usize;
            while cursor < end {
                let chunk = (PAGE_SIZE - cursor.page_offset()).min(end.as_u64() - cursor.as_u64());
                let translation = space.translate(cursor).ok_or(Status::BadAddress)?;
                let machine = MachineAddr(translation.phys);
                if !translation.flags.contains(required) || !memory.owns(machine.frame()) {
                    return Err(Status::BadAddress);
                }
                each(machine, offset, chunk as usize);
                offset += chunk as usize;
                cursor = GuestVirtAddr(cursor.as_u64() + chunk);
            }
            Ok(())
        };
        walk(&mut |_, _, _| {})?;
        walk(&mut each)
    }

    /// Copies guest memory at `addr` into `out`.
    pub fn read_guest(&self, addr: GuestVirtAddr, out: &mut [u8]) -> Result<(), Status> {
        let len = out.len();
        let dst = out.as_mut_ptr();
        self.guest_pieces(addr, len, false, |machine, offset, chunk| {
            // SAFETY: `machine` is a validated frame of this domain reached
            // through the direct map; `offset + chunk <= out.len()`.
            unsafe { core::ptr::copy_nonoverlapping(machine_ptr(machine), dst.add(offset), chunk) }
        })
    }

    /// Copies `data` into guest memory at `addr`.
    pub fn write_guest(&self, addr: GuestVirtAddr, data: &[u8]) -> Result<(), Status> {
        self.guest_pieces(addr, data.len(), true, |machine, offset, chunk| {
            // SAFETY: as in read_guest, with the direction reversed; the page
            // is writable in the guest's own view.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    data.as_ptr().add(offset),
                    machine_ptr(machine),
                    chunk,
                )
            }
        })
    }
}
