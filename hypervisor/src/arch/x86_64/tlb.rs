//! Carrying out what a shadow change requires of the hardware TLB.

use core::arch::asm;

use super::cpu;
use crate::mm::shadow::TlbFlush;

/// Invalidates what `flush` names in the current address space.
pub fn apply(flush: TlbFlush) {
    match flush {
        TlbFlush::None => {}
        TlbFlush::Page(addr) => {
            // SAFETY: invlpg only drops a cached translation.
            unsafe { asm!("invlpg [{}]", in(reg) addr.as_u64(), options(nostack)) };
        }
        TlbFlush::All => {
            // SAFETY: reloading the current CR3 only drops cached
            // non-global translations.
            unsafe { cpu::write_cr3(cpu::read_cr3()) };
        }
    }
}
