//! A domain as the emulator's [`Machine`]: guest memory through the
//! domain's own translation, the virtual interrupt flag where the domain
//! keeps it, and the address-space switch, page invalidation and console
//! of the paravirtual interface (the same handlers the hypercalls run).

use shared_abi::hypercall::request::{MmuInvalidatePage, MmuSetBase};

use crate::arch::x86_64::cpu;
use crate::domain::{Domain, trap_delivery};
use crate::emulate::machine::{Machine, MemoryFault};
use crate::emulate::virtual_cpu::{TableRegister, VirtualCpu};
use crate::hypercall::mmu;
use crate::mm::address::{GuestPhysAddr, GuestVirtAddr, PAGE_SIZE, align_down};

/// The running domain, in an emulating mode.
pub struct DomainMachine<'a> {
    domain: &'a mut Domain,
}

impl<'a> DomainMachine<'a> {
    /// The machine of `domain`, if it is in an emulating mode.
    pub fn new(domain: &'a mut Domain) -> Option<Self> {
        domain.emulation()?;
        Some(Self { domain })
    }

    /// The fault an access of `len` bytes at `address` raises: at the
    /// first page of the range the guest cannot reach.
    fn fault(&self, address: u64, len: usize, write: bool) -> MemoryFault {
        let end = address.saturating_add(len as u64);
        let mut page = address;
        while page < end {
            if self
                .domain
                .translate_guest(GuestVirtAddr(page), write)
                .is_err()
            {
                break;
            }
            page = align_down(page, PAGE_SIZE).saturating_add(PAGE_SIZE);
        }
        let page = page.min(end.saturating_sub(1)).max(address);
        MemoryFault {
            address: page,
            error_code: self.domain.access_fault(GuestVirtAddr(page), write),
        }
    }
}

impl Machine for DomainMachine<'_> {
    fn read(&mut self, address: GuestVirtAddr, out: &mut [u8]) -> Result<(), MemoryFault> {
        self.domain
            .read_guest(address, out)
            .map_err(|_| self.fault(address.as_u64(), out.len(), false))
    }

    fn write(&mut self, address: GuestVirtAddr, data: &[u8]) -> Result<(), MemoryFault> {
        self.domain
            .write_guest(address, data)
            .map_err(|_| self.fault(address.as_u64(), data.len(), true))
    }

    fn cpu(&mut self) -> &mut VirtualCpu {
        match self.domain.emulation_mut() {
            Some(emulation) => emulation.cpu_mut(),
            // `new` checked it, and a domain's mode never changes.
            None => unreachable!("an emulated domain without emulation state"),
        }
    }

    fn load_idt(&mut self, table: TableRegister) {
        self.cpu().load_idt(table);
        trap_delivery::clear_handlers(self.domain);
    }

    fn set_interrupt_flag(&mut self, enabled: bool) {
        self.domain.set_interrupt_flag(enabled);
    }

    fn can_halt(&self) -> bool {
        self.domain.shared().is_some()
    }

    fn root(&self) -> GuestPhysAddr {
        self.domain
            .shadow()
            .map_or(GuestPhysAddr(0), |shadow| shadow.guest_root())
    }

    fn switch_root(&mut self, root: GuestPhysAddr) -> bool {
        let root = root.as_u64();
        mmu::set_base(self.domain, MmuSetBase { root }).is_ok()
    }

    fn invalidate_page(&mut self, address: GuestVirtAddr) {
        let address = address.as_u64();
        let _ = mmu::invalidate_page(self.domain, MmuInvalidatePage { address });
    }

    fn console_byte(&mut self, byte: u8) {
        crate::console::write_early(self.domain, &[byte]);
    }

    fn tsc(&self) -> u64 {
        cpu::rdtsc()
    }
}
