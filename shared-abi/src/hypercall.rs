//! Hypercall numbers and the calling convention.
//!
//! A guest issues `syscall` with the number in `rax` and up to five arguments in
//! `rdi`, `rsi`, `rdx`, `r10`, `r8`. The result comes back in `rax`: a
//! non-negative value on success, or a negative [`Status`](crate::Status).
//! `rcx` and `r11` are clobbered (the `syscall` instruction uses them); every
//! other register is preserved. Numbers are never reused or renumbered.

/// Every hypercall the hypervisor knows. See `docs/abi/hypercalls.md`.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hypercall {
    /// Returns [`ABI_VERSION`](crate::ABI_VERSION). No arguments.
    AbiVersion = 0,
    /// Early console: `(ptr, len)`; writes `len` bytes of guest memory.
    ConsoleWrite = 1,
    /// Gives up the CPU to the next runnable domain. No arguments.
    Yield = 2,
    /// Ends the calling domain: `(code)`. Does not return.
    Shutdown = 3,
    /// Copies the domain's [`StartInfo`](crate::start_info::StartInfo): `(ptr, len)`.
    StartInfo = 4,
    /// Switches address space: `(root)`, the guest-physical address of a
    /// page-table root (the guest's CR3).
    MmuSetBase = 5,
    /// Returns the current page-table root (guest-physical). No arguments.
    MmuGetBase = 6,
    /// Invalidates one page: `(address)`, guest-virtual.
    MmuInvalidatePage = 7,
    /// Invalidates all translations: `(scope)`, a [`FlushScope`].
    MmuFlush = 8,
    /// Registers an exception handler: `(vector, handler)`; handler 0 removes it.
    SetTrapHandler = 9,
    /// Returns from an exception handler: restores the
    /// [`ExceptionFrame`](crate::trap::ExceptionFrame) at `rsp`. No arguments.
    Iret = 10,
    /// Registers the shared-information page: `(gpa)`, page-aligned.
    RegisterSharedInfo = 11,
    /// Registers the event upcall entry point: `(handler)`; 0 removes it.
    SetCallback = 12,
    /// Arms the one-shot timer: `(deadline_ns)` in virtual time; 0 cancels.
    SetTimer = 13,
    /// Sleeps until an event is pending for the domain. No arguments.
    Block = 14,
    /// Binds a new port to a virtual IRQ: `(virq)`; returns the port.
    EventBindVirq = 15,
    /// Allocates a port for a peer to bind: `(remote_domain)`; returns the port.
    EventAllocUnbound = 16,
    /// Binds a new port to a peer's unbound port: `(remote_domain, remote_port)`.
    EventBindInterdomain = 17,
    /// Signals a port: `(port)`.
    EventSend = 18,
    /// Closes a port: `(port)`.
    EventClose = 19,
    /// Reports a port's state: `(port)`; returns a packed
    /// [`PortStatus`](crate::event::PortStatus).
    EventStatus = 20,
    /// Unmasks a port and delivers its pending event: `(port)`.
    EventUnmask = 21,
    /// Delivers a pending upcall now (after unmasking). No arguments.
    ForceCallback = 22,
    /// Finds a domain by name: `(ptr, len)`; returns its id.
    DomainLookup = 23,
    /// Attaches the split console rings in the page at guest-physical `(gpa)`.
    ConsoleAttach = 24,
    /// Returns the sectors of the domain's virtual disk (0: none). No arguments.
    BlockInfo = 25,
    /// Registers the block virtqueue: `(descriptors, available, used, size)`,
    /// guest-physical addresses and the queue size.
    BlockQueueSetup = 26,
    /// Runs a batch of calls: `(ptr, count)`, an array of `count`
    /// [`MulticallEntry`](crate::multicall::MulticallEntry); returns how
    /// many ran.
    Multicall = 27,
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
    /// Every defined call, in number order.
    pub const ALL: [Hypercall; 28] = [
        Hypercall::AbiVersion,
        Hypercall::ConsoleWrite,
        Hypercall::Yield,
        Hypercall::Shutdown,
        Hypercall::StartInfo,
        Hypercall::MmuSetBase,
        Hypercall::MmuGetBase,
        Hypercall::MmuInvalidatePage,
        Hypercall::MmuFlush,
        Hypercall::SetTrapHandler,
        Hypercall::Iret,
        Hypercall::RegisterSharedInfo,
        Hypercall::SetCallback,
        Hypercall::SetTimer,
        Hypercall::Block,
        Hypercall::EventBindVirq,
        Hypercall::EventAllocUnbound,
        Hypercall::EventBindInterdomain,
        Hypercall::EventSend,
        Hypercall::EventClose,
        Hypercall::EventStatus,
        Hypercall::EventUnmask,
        Hypercall::ForceCallback,
        Hypercall::DomainLookup,
        Hypercall::ConsoleAttach,
        Hypercall::BlockInfo,
        Hypercall::BlockQueueSetup,
        Hypercall::Multicall,
    ];

    /// Decodes a number from `rax`; `None` for an unknown number. Numbers
    /// are dense (tested), so this is an index.
    pub fn from_number(number: u64) -> Option<Self> {
        Self::ALL.get(usize::try_from(number).ok()?).copied()
    }

    /// The call's name as used in the documentation and in logs.
    pub fn name(self) -> &'static str {
        match self {
            Hypercall::AbiVersion => "abi_version",
            Hypercall::ConsoleWrite => "console_write",
            Hypercall::Yield => "yield",
            Hypercall::Shutdown => "shutdown",
            Hypercall::StartInfo => "start_info",
            Hypercall::MmuSetBase => "mmu_set_base",
            Hypercall::MmuGetBase => "mmu_get_base",
            Hypercall::MmuInvalidatePage => "mmu_invalidate_page",
            Hypercall::MmuFlush => "mmu_flush",
            Hypercall::SetTrapHandler => "set_trap_handler",
            Hypercall::Iret => "iret",
            Hypercall::RegisterSharedInfo => "register_shared_info",
            Hypercall::SetCallback => "set_callback",
            Hypercall::SetTimer => "set_timer",
            Hypercall::Block => "block",
            Hypercall::EventBindVirq => "event_bind_virq",
            Hypercall::EventAllocUnbound => "event_alloc_unbound",
            Hypercall::EventBindInterdomain => "event_bind_interdomain",
            Hypercall::EventSend => "event_send",
            Hypercall::EventClose => "event_close",
            Hypercall::EventStatus => "event_status",
            Hypercall::EventUnmask => "event_unmask",
            Hypercall::ForceCallback => "force_callback",
            Hypercall::DomainLookup => "domain_lookup",
            Hypercall::ConsoleAttach => "console_attach",
            Hypercall::BlockInfo => "block_info",
            Hypercall::BlockQueueSetup => "block_queue_setup",
            Hypercall::Multicall => "multicall",
        }
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
