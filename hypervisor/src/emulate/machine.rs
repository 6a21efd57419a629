//! What an emulated instruction needs from the domain it runs in: guest
//! memory as the guest sees it, the virtual interrupt flag, the address
//! space, the console, the virtual CPU's own registers.
//!
//! [`super::execute`] works against this trait only, so the emulator is
//! tested on the host against a fake domain; on the machine a real domain
//! implements it ([`super::domain_machine`]).

use super::virtual_cpu::{TableRegister, VirtualCpu};
use crate::mm::address::{GuestPhysAddr, GuestVirtAddr};

/// A page fault the guest takes because an operand's memory is not
/// reachable as the instruction needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryFault {
    /// The first address that could not be reached (the virtual CR2).
    pub address: u64,
    /// The page-fault error code, as the guest sees it.
    pub error_code: u64,
}

/// The domain an instruction is emulated for.
pub trait Machine {
    /// Copies guest-virtual memory at `address` into `out`, with the
    /// guest's own permissions (accessed bits set as the MMU would).
    fn read(&mut self, address: GuestVirtAddr, out: &mut [u8]) -> Result<(), MemoryFault>;
    /// Copies `data` to guest-virtual memory at `address` (dirty bits set).
    fn write(&mut self, address: GuestVirtAddr, data: &[u8]) -> Result<(), MemoryFault>;
    /// The virtual CPU's registers.
    fn cpu(&mut self) -> &mut VirtualCpu;
    /// `lidt`: from now on exceptions and upcalls are delivered through
    /// `table` (handlers registered by hypercall are forgotten).
    fn load_idt(&mut self, table: TableRegister);
    /// Sets the virtual interrupt flag.
    fn set_interrupt_flag(&mut self, enabled: bool);
    /// Whether `hlt` can wait for an event (a domain without a
    /// shared-information page has no way to receive one).
    fn can_halt(&self) -> bool;
    /// The guest-physical root of the current address space (CR3).
    fn root(&self) -> GuestPhysAddr;
    /// Switches to the address space rooted at guest-physical `root`;
    /// `false` if the domain's memory has no such page.
    fn switch_root(&mut self, root: GuestPhysAddr) -> bool;
    /// Drops the translation of the page holding `address`.
    fn invalidate_page(&mut self, address: GuestVirtAddr);
    /// Sends one byte to the domain's console.
    fn console_byte(&mut self, byte: u8);
    /// The time-stamp counter.
    fn tsc(&self) -> u64;
}
