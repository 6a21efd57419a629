//! A domain's paging: its shadow state over machine frames, and the glue
//! between hardware page faults and [`Shadow::fill`].

use crate::arch::x86_64::{cpu, percpu, tlb};
use crate::mm::address::{GuestFrame, GuestPhysAddr, GuestVirtAddr, MachineAddr};
use crate::mm::guest_walk::{Access, GuestFault};
use crate::mm::kernel_space;
use crate::mm::machine_tables::MachineTables;
use crate::mm::shadow::{Backing, Shadow, TablePool, TlbFlush, View};

use super::memory::{DomainMemory, ForeignError};
use super::record::{Domain, DomainShadow};

pub use crate::memory_budget::SHADOW_POOL_FRAMES;

/// Creates the shadow state for a domain starting on `guest_root`.
pub fn new_shadow(guest_root: GuestPhysAddr) -> Option<DomainShadow> {
    let pool = TablePool::new(MachineTables, SHADOW_POOL_FRAMES)?;
    Shadow::new(pool, kernel_space::upper_half(), guest_root)
}

/// Carries out what a shadow change requires of the hardware TLB, in the
/// current address space.
pub fn apply(flush: TlbFlush) {
    match flush {
        TlbFlush::None => {}
        TlbFlush::Page(addr) => tlb::invalidate_page(addr.as_u64()),
        TlbFlush::All => tlb::flush_all(),
    }
}

impl Domain {
    /// Makes `view` the shadow the hardware walks, loading its root into
    /// CR3 if it changed and telling the entry code which view is loaded
    /// (the domain runs, or is about to: the dispatcher loads its address
    /// space the same way before it does in any case).
    #[inline(always)]
    pub(super) fn load_view(&mut self, view: View) {
        if let Some(shadow) = self.shadow.as_mut()
            && shadow.set_view(view)
        {
            // SAFETY: a shadow root maps the hypervisor identically (its
            // upper half is the hypervisor's).
            unsafe { cpu::switch_root(MachineAddr(shadow.machine_root())) };
            percpu::this().set_guest_user(view == View::User);
        }
    }

    /// Resolves a hardware page fault at `addr` in the shadow; an ended
    /// domain (no tables) gets `error_code` back as the guest's fault.
    #[inline]
    pub fn fill(
        &mut self,
        addr: GuestVirtAddr,
        access: Access,
        error_code: u64,
    ) -> Result<TlbFlush, GuestFault> {
        match (self.shadow.as_mut(), self.memory.as_ref()) {
            (Some(shadow), Some(memory)) => fill(shadow, memory, addr, access),
            _ => Err(GuestFault { error_code }),
        }
    }
}

impl Domain {
    /// Maps `backing` at guest `frame`, above the domain's memory, for the
    /// domain to reach through its own page tables.
    pub fn map_foreign(&mut self, frame: GuestFrame, backing: Backing) -> Result<(), ForeignError> {
        self.memory
            .as_mut()
            .ok_or(ForeignError::Ended)?
            .map_foreign(frame, backing)
    }

    /// Removes the foreign frame at guest `frame` and every shadow
    /// translation that could still reach it, returning what was mapped.
    /// Works whichever domain runs: the hardware TLB is flushed as well
    /// (a domain not loaded has no translations there once CR3 changes).
    pub fn unmap_foreign(&mut self, frame: GuestFrame) -> Option<Backing> {
        let backing = self.memory.as_mut()?.unmap_foreign(frame)?;
        if let Some(shadow) = self.shadow.as_mut() {
            apply(shadow.flush_all());
        }
        Some(backing)
    }
}

/// Resolves a hardware page fault of the domain at `addr`.
fn fill(
    shadow: &mut DomainShadow,
    memory: &DomainMemory,
    addr: GuestVirtAddr,
    access: Access,
) -> Result<TlbFlush, GuestFault> {
    shadow.fill(
        memory,
        |frame: GuestFrame| memory.backing(frame),
        addr,
        access,
    )
}
