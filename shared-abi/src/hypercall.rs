//! Hypercall numbers and the calling convention.
//!
//! A guest issues `syscall` with the number in `rax` and up to five arguments in
//! `rdi`, `rsi`, `rdx`, `r10`, `r8`. The result comes back in `rax`: a
//! non-negative value on success, or a negative [`Status`](crate::Status).
//! `rcx` and `r11` are clobbered (the `syscall` instruction uses them); every
//! other register is preserved. Numbers are never reused or renumbered.

/// Declares [`Hypercall`], [`Hypercall::ALL`] and [`Hypercall::name`] from
/// one list, so that a number, its variant and its documented name cannot
/// disagree.
macro_rules! hypercalls {
    ($($(#[$doc:meta])* $variant:ident = $number:literal => $name:literal,)*) => {
        /// Every hypercall the hypervisor knows. See `docs/abi/hypercalls.md`.
        #[repr(u64)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Hypercall {
            $($(#[$doc])* $variant = $number,)*
        }

        impl Hypercall {
            /// Every defined call, in number order.
            pub const ALL: [Hypercall; [$($number),*].len()] = [$(Hypercall::$variant),*];

            /// The call's name as used in the documentation and in logs.
            pub fn name(self) -> &'static str {
                match self {
                    $(Hypercall::$variant => $name,)*
                }
            }
        }
    };
}

hypercalls! {
    /// Returns [`ABI_VERSION`](crate::ABI_VERSION). No arguments.
    AbiVersion = 0 => "abi_version",
    /// Early console: `(ptr, len)`; writes `len` bytes of guest memory.
    ConsoleWrite = 1 => "console_write",
    /// Gives up the CPU to the next runnable domain. No arguments.
    Yield = 2 => "yield",
    /// Ends the calling domain: `(code)`. Does not return.
    Shutdown = 3 => "shutdown",
    /// Copies the domain's [`StartInfo`](crate::start_info::StartInfo): `(ptr, len)`.
    StartInfo = 4 => "start_info",
    /// Switches address space: `(root)`, the guest-physical address of a
    /// page-table root (the guest's CR3).
    MmuSetBase = 5 => "mmu_set_base",
    /// Returns the current page-table root (guest-physical). No arguments.
    MmuGetBase = 6 => "mmu_get_base",
    /// Invalidates one page: `(address)`, guest-virtual.
    MmuInvalidatePage = 7 => "mmu_invalidate_page",
    /// Invalidates all translations: `(scope)`, a [`FlushScope`].
    MmuFlush = 8 => "mmu_flush",
    /// Registers an exception handler: `(vector, handler)`; handler 0 removes it.
    SetTrapHandler = 9 => "set_trap_handler",
    /// Returns from an exception handler: restores the
    /// [`ExceptionFrame`](crate::trap::ExceptionFrame) at `rsp`. No arguments.
    Iret = 10 => "iret",
    /// Registers the shared-information page: `(gpa)`, page-aligned.
    RegisterSharedInfo = 11 => "register_shared_info",
    /// Registers the event upcall entry point: `(handler)`; 0 removes it.
    SetCallback = 12 => "set_callback",
    /// Arms the one-shot timer: `(deadline_ns)` in virtual time; 0 cancels.
    SetTimer = 13 => "set_timer",
    /// Sleeps until an event is pending for the domain. No arguments.
    Block = 14 => "block",
    /// Binds a new port to a virtual IRQ: `(virq)`; returns the port.
    EventBindVirq = 15 => "event_bind_virq",
    /// Allocates a port for a peer to bind: `(remote_domain)`; returns the port.
    EventAllocUnbound = 16 => "event_alloc_unbound",
    /// Binds a new port to a peer's unbound port: `(remote_domain, remote_port)`.
    EventBindInterdomain = 17 => "event_bind_interdomain",
    /// Signals a port: `(port)`.
    EventSend = 18 => "event_send",
    /// Closes a port: `(port)`.
    EventClose = 19 => "event_close",
    /// Reports a port's state: `(port)`; returns a packed
    /// [`PortStatus`](crate::event::PortStatus).
    EventStatus = 20 => "event_status",
    /// Unmasks a port and delivers its pending event: `(port)`.
    EventUnmask = 21 => "event_unmask",
    /// Delivers a pending upcall now (after unmasking). No arguments.
    ForceCallback = 22 => "force_callback",
    /// Finds a domain by name: `(ptr, len)`; returns its id.
    DomainLookup = 23 => "domain_lookup",
    /// Attaches the split console rings in the page at guest-physical `(gpa)`.
    ConsoleAttach = 24 => "console_attach",
    /// Returns the sectors of the domain's virtual disk (0: none). No arguments.
    BlockInfo = 25 => "block_info",
    /// Registers the block virtqueue: `(descriptors, available, used, size)`,
    /// guest-physical addresses and the queue size.
    BlockQueueSetup = 26 => "block_queue_setup",
    /// Runs a batch of calls: `(ptr, count)`, an array of `count`
    /// [`MulticallEntry`](crate::multicall::MulticallEntry); returns how
    /// many ran.
    Multicall = 27 => "multicall",
}

/// Scope of [`Hypercall::MmuFlush`].
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushScope {
    /// Every translation of the current address space.
    Current = 0,
    /// Every translation of every address space of the domain.
    All = 1,
}

impl Hypercall {
    /// Decodes a number from `rax`; `None` for an unknown number. Numbers
    /// are dense (tested), so this is an index.
    pub fn from_number(number: u64) -> Option<Self> {
        Self::ALL.get(usize::try_from(number).ok()?).copied()
    }
}

/// Largest `len` accepted by [`Hypercall::ConsoleWrite`] in one call.
pub const CONSOLE_WRITE_MAX: u64 = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_are_dense() {
        for (index, call) in Hypercall::ALL.into_iter().enumerate() {
            assert_eq!(call as u64, index as u64);
            assert_eq!(Hypercall::from_number(index as u64), Some(call));
        }
        assert_eq!(Hypercall::from_number(Hypercall::ALL.len() as u64), None);
        assert_eq!(Hypercall::ALL.last(), Some(&Hypercall::Multicall));
        assert_eq!(Hypercall::Multicall.name(), "multicall");
        assert_eq!(Hypercall::from_number(u64::MAX), None);
    }
}
