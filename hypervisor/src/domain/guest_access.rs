//! Reading and writing guest memory by guest-virtual address, as hypercalls
//! do with their pointer arguments.
//!
//! Every byte is translated through the guest's own page tables, as the
//! guest itself would see it (accessed and dirty bits included): it must be
//! mapped (and writable, for writes) there, and the frame must be inside the
//! domain's memory. A page that the current shadow already maps for the
//! access is reached through the shadow instead: that is the translation
//! the guest's own access would use (with the TLB contract: a guest entry
//! changed but not invalidated may still be in use). Data is copied in or
//! out before it is used, so the guest cannot change it under the
//! hypervisor (no double fetch). A debugger's access goes through
//! [`Domain::debug_view`] instead (`mm::guest_view`).

use core::ptr::NonNull;

use shared_abi::Status;
use volatile::VolatilePtr;

use super::memory::DomainMemory;
use super::record::Domain;
use crate::instruction::MAX_INSTRUCTION_BYTES;
use crate::mm::address::{GuestFrame, GuestVirtAddr, MachineAddr, PAGE_SIZE};
use crate::mm::direct_map::machine_ptr;
use crate::mm::guest_view::GuestView;
use crate::mm::guest_walk::{self, Access};

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
        if addr.page_offset() + len as u64 <= PAGE_SIZE {
            each(self.translate_guest(addr, write)?, 0, len);
            return Ok(());
        }
        let walk = |each: &mut dyn FnMut(MachineAddr, usize, usize)| -> Result<(), Status> {
            let mut cursor = addr;
            let mut offset = 0usize;
            while cursor < end {
                let chunk = (PAGE_SIZE - cursor.page_offset()).min(end.as_u64() - cursor.as_u64());
                each(self.translate_guest(cursor, write)?, offset, chunk as usize);
                offset += chunk as usize;
                cursor = GuestVirtAddr(cursor.as_u64() + chunk);
            }
            Ok(())
        };
        // A range over several pages is checked whole first, so that
        // nothing is copied unless all of it can be.
        walk(&mut |_, _, _| {})?;
        walk(&mut each)
    }

    /// The machine address behind guest-virtual `addr` for a read (or a
    /// write): the shadow's translation when it maps the page for that
    /// access (its accessed and dirty bits then already set by the walk
    /// that filled it), else one walk of the guest's tables, the frame
    /// checked to be the domain's. The rest of `addr`'s page is behind the
    /// same frame.
    pub fn translate_guest(&self, addr: GuestVirtAddr, write: bool) -> Result<MachineAddr, Status> {
        let (Some(shadow), Some(memory)) = (&self.shadow, &self.memory) else {
            return Err(Status::BadAddress);
        };
        if let Some(machine) = shadow.lookup(addr, write) {
            return Ok(MachineAddr(machine));
        }
        let access = if write { Access::WRITE } else { Access::READ };
        let mapping = guest_walk::walk(memory, shadow.guest_root(), addr, access)
            .map_err(|_| Status::BadAddress)?;
        let frame = memory
            .machine_frame(mapping.phys.frame())
            .ok_or(Status::BadAddress)?;
        Ok(MachineAddr(
            frame.start().as_u64() + mapping.phys.page_offset(),
        ))
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

impl Domain {
    /// The domain's memory as a debugger sees it, through the address space
    /// it runs in (`None` once it has ended).
    pub fn debug_view(&self) -> Option<GuestView<'_, DomainMemory>> {
        let (shadow, memory) = (self.shadow.as_ref()?, self.memory.as_ref()?);
        Some(GuestView::new(memory, shadow.guest_root()))
    }

    /// The machine address of the domain's page at guest-physical `gpa`,
    /// for a page the guest shares with the hypervisor (shared information,
    /// device rings): it must be page-aligned and inside the domain's memory.
    pub fn shared_page(&self, gpa: u64) -> Result<MachineAddr, Status> {
        if !gpa.is_multiple_of(PAGE_SIZE) {
            return Err(Status::InvalidArgument);
        }
        let memory = self.memory.as_ref().ok_or(Status::InvalidArgument)?;
        let frame = memory
            .machine_frame(GuestFrame(gpa / PAGE_SIZE))
            .ok_or(Status::InvalidArgument)?;
        Ok(frame.start())
    }
}

impl Domain {
    /// Copies the instruction bytes at guest-virtual `rip` into `out`, as
    /// many as the guest can read (up to 15: fewer when the page after
    /// `rip`'s is unreadable); returns how many. 0 when `rip`'s own page
    /// is unreadable.
    pub fn fetch_instruction(
        &self,
        rip: GuestVirtAddr,
        out: &mut [u8; MAX_INSTRUCTION_BYTES],
    ) -> usize {
        let in_page = ((PAGE_SIZE - rip.page_offset()) as usize).min(MAX_INSTRUCTION_BYTES);
        if self.read_guest(rip, &mut out[..in_page]).is_err() {
            return 0;
        }
        let Some(next) = rip.checked_add(in_page as u64) else {
            return in_page;
        };
        match self.read_guest(next, &mut out[in_page..]) {
            Ok(()) => MAX_INSTRUCTION_BYTES,
            Err(_) => in_page,
        }
    }

    /// The page-fault error code the guest sees for an access to `addr`
    /// (a write when `write`) that [`Domain::translate_guest`] refused:
    /// the walk's own code, or a reserved-bit fault for a frame outside
    /// the domain's memory.
    pub fn access_fault(&self, addr: GuestVirtAddr, write: bool) -> u64 {
        use crate::mm::guest_walk::error_code;
        let refused = error_code::USER | error_code::PRESENT | error_code::RESERVED;
        let (Some(shadow), Some(memory)) = (&self.shadow, &self.memory) else {
            return refused;
        };
        let access = if write { Access::WRITE } else { Access::READ };
        match guest_walk::walk(memory, shadow.guest_root(), addr, access) {
            Err(fault) => fault.error_code,
            Ok(_) => refused | if write { error_code::WRITE } else { 0 },
        }
    }

    /// The byte of the domain's memory behind guest-virtual `addr`, as the
    /// guest reads it now, located so that the hypervisor may rewrite it
    /// whatever the guest's own permissions (patching code).
    pub fn code_byte(&self, addr: GuestVirtAddr) -> Result<CodeByte, Status> {
        self.translate_guest(addr, false).map(CodeByte)
    }
}

/// A byte of a domain's memory, located through the domain's current
/// translation of a guest-virtual address ([`Domain::code_byte`]). Use it
/// at once: it stays valid only while the domain lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeByte(MachineAddr);

impl CodeByte {
    /// Where it is: a key to compare locations by.
    pub fn location(self) -> u64 {
        self.0.as_u64()
    }

    /// The byte as a volatile pointer: the guest may change it at any time.
    fn pointer(self) -> VolatilePtr<'static, u8> {
        let byte = NonNull::new(machine_ptr(self.0)).unwrap_or(NonNull::dangling());
        // SAFETY: the address came from translating a guest address to a
        // frame of the domain's own memory, reached through the direct map
        // (never null there); it is only read and written by value. The
        // guest owns no invariant of its memory that the hypervisor could
        // break by a write the guest could have made itself.
        unsafe { VolatilePtr::new(byte) }
    }

    /// Reads it.
    pub fn read(self) -> u8 {
        self.pointer().read()
    }

    /// Reads `out.len()` bytes from here if they lie in this byte's page
    /// (no second translation); `false`, with nothing read, otherwise.
    pub fn read_within_page(self, out: &mut [u8]) -> bool {
        if self.0.as_u64() % PAGE_SIZE + out.len() as u64 > PAGE_SIZE {
            return false;
        }
        for (index, byte) in out.iter_mut().enumerate() {
            *byte = CodeByte(MachineAddr(self.0.as_u64() + index as u64)).read();
        }
        true
    }

    /// Overwrites it.
    pub fn write(self, value: u8) {
        self.pointer().write(value)
    }
}
