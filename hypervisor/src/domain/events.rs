//! A domain's virtual interrupts: its shared-information page, event
//! delivery into it, and the upcall that tells the guest.
//!
//! The shared page is a frame of the domain's own memory that the guest
//! registered. The hypervisor reaches it through the direct map, only
//! through atomic fields: the guest owns the page and may write any of it,
//! and the hypervisor never trusts a value it reads there beyond a bit's
//! meaning (pending, masked).

use core::sync::atomic::Ordering;

use shared_abi::event::Virq;
use shared_abi::shared_info::SharedInfo;

use super::record::Domain;
use crate::mm::direct_map::machine_ptr;

impl Domain {
    /// Registers the shared-information page at guest-physical `gpa` (see
    /// [`Domain::shared_page`] for what it must be).
    pub fn register_shared_page(&mut self, gpa: u64) -> Result<(), shared_abi::Status> {
        self.shared_info = Some(self.shared_page(gpa)?);
        Ok(())
    }

    /// The shared-information page, once registered.
    #[inline]
    pub fn shared(&self) -> Option<&SharedInfo> {
        // SAFETY: `shared_info` is a page-aligned frame of this domain's
        // memory (checked at registration, kept while the domain lives), so
        // the SharedInfo (under 4 KiB, all atomics) lies within it; atomics
        // make concurrent changes by the guest well-defined.
        self.shared_info
            .map(|page| unsafe { &*machine_ptr(page).cast::<SharedInfo>() })
    }

    /// Marks `port` pending. Unless it was already pending or is masked,
    /// this sets the upcall-pending flag and wakes a blocked domain.
    pub fn raise(&mut self, port: u32) {
        let Some(shared) = self.shared() else {
            return;
        };
        let bit = 1u64 << port;
        if shared.pending.fetch_or(bit, Ordering::SeqCst) & bit != 0 {
            return;
        }
        if shared.mask.load(Ordering::SeqCst) & bit != 0 {
            return;
        }
        shared.vcpu.upcall_pending.store(1, Ordering::SeqCst);
        self.wake();
    }

    /// Raises the port bound to `virq`, if there is one.
    pub fn raise_virq(&mut self, virq: Virq) {
        if let Some(port) = self.ports().virq_port(virq) {
            self.raise(port);
        }
    }

    /// Whether an upcall should be delivered before the guest runs again:
    /// it has somewhere to go (the callback, or the virtual IDT of an
    /// emulated domain), an event is pending and interrupts are enabled.
    pub fn upcall_due(&self) -> bool {
        (self.callback() != 0 || self.uses_virtual_idt())
            && self.shared().is_some_and(|shared| {
                shared.vcpu.upcall_pending.load(Ordering::SeqCst) != 0
                    && shared.vcpu.upcall_mask.load(Ordering::SeqCst) == 0
            })
    }

    /// Whether the domain has an event waiting (masked or not): what wakes
    /// it from `block`.
    pub fn event_waiting(&self) -> bool {
        self.shared()
            .is_some_and(|shared| shared.vcpu.upcall_pending.load(Ordering::SeqCst) != 0)
    }

    /// The virtual interrupt mask (1 when no shared page is registered).
    pub fn upcall_mask(&self) -> u8 {
        self.shared()
            .map_or(1, |shared| shared.vcpu.upcall_mask.load(Ordering::SeqCst))
    }

    /// Sets the virtual interrupt mask.
    pub fn set_upcall_mask(&self, mask: u8) {
        if let Some(shared) = self.shared() {
            shared.vcpu.upcall_mask.store(mask, Ordering::SeqCst);
        }
    }

    /// Whether exceptions and upcalls go through a virtual IDT the guest
    /// loaded with an emulated `lidt`.
    #[inline]
    pub fn uses_virtual_idt(&self) -> bool {
        self.emulation
            .as_ref()
            .is_some_and(|emulation| emulation.cpu().idt().is_some())
    }

    /// The virtual interrupt flag as an emulated CPU's `rflags.IF` shows
    /// it: the shared page's mask, once the guest registered one; before
    /// that, the virtual CPU's own flag.
    pub fn interrupt_flag(&self) -> bool {
        match (self.shared(), &self.emulation) {
            (Some(shared), _) => shared.vcpu.upcall_mask.load(Ordering::SeqCst) == 0,
            (None, Some(emulation)) => emulation.cpu().interrupt_flag(),
            (None, None) => false,
        }
    }

    /// Sets the virtual interrupt flag (see [`Domain::interrupt_flag`]).
    pub fn set_interrupt_flag(&mut self, enabled: bool) {
        match self.shared() {
            Some(_) => self.set_upcall_mask(u8::from(!enabled)),
            None => {
                if let Some(emulation) = self.emulation.as_mut() {
                    emulation.cpu_mut().set_interrupt_flag(enabled);
                }
            }
        }
    }
}
