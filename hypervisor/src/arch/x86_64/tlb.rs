//! The hardware TLB: dropping one cached translation, or all non-global
//! ones, in the current address space.

use core::arch::asm;

use super::cpu;

/// Drops the cached translation of the page holding `address`.
pub fn invalidate_page(address: u64) {
    // SAFETY: invlpg only drops a cached translation.
    unsafe { asm!("invlpg [{}]", in(reg) address, options(nostack)) };
}

/// Drops every non-global cached translation.
pub fn flush_all() {
    // SAFETY: reloading the current CR3 only drops cached non-global
    // translations.
    unsafe { cpu::write_cr3(cpu::read_cr3()) };
}
