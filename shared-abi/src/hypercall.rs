//! Hypercall numbers, the calling convention and the typed requests.
//!
//! A guest issues `syscall` with the number in `rax` and up to five arguments in
//! `rdi`, `rsi`, `rdx`, `r10`, `r8`. The result comes back in `rax`: a
//! non-negative value on success, or a negative [`Status`](crate::Status).
//! `rcx` and `r11` are clobbered (the `syscall` instruction uses them); every
//! other register is preserved. Numbers are never reused or renumbered.
//!
//! Every call is declared once, in the list below: its number, its name,
//! its named arguments in register order and its result type. From that
//! list come the [`Hypercall`] enum and, in [`request`], one struct per
//! call implementing [`Request`]: the guest's wrappers build a request and
//! encode it with [`Request::to_args`], the hypervisor decodes the same
//! struct with [`Request::from_args`] and encodes its answer with
//! [`encode_result`], which the guest decodes with [`decode_result`], so
//! the two sides cannot disagree about a number, the order of arguments or
//! the type of a result.

#[macro_use]
mod declare;
mod reply;

pub use reply::{Reply, Request, decode_result, encode_result};

use crate::event::PortStatus;

hypercalls! {
    /// Returns [`ABI_VERSION`](crate::ABI_VERSION). Never fails.
    AbiVersion = 0 => "abi_version" {} -> u32,
    /// Early console: writes the `len` bytes of guest memory at `ptr`;
    /// returns `len`.
    ConsoleWrite = 1 => "console_write" { ptr: u64, len: u64 } -> u64,
    /// Gives up the CPU to the next runnable domain.
    Yield = 2 => "yield" {} -> (),
    /// Ends the calling domain with exit `code`. Does not return.
    Shutdown = 3 => "shutdown" { code: u64 } -> (),
    /// Copies the domain's [`StartInfo`](crate::start_info::StartInfo) to
    /// the `len` bytes at `ptr`; returns the bytes written.
    StartInfo = 4 => "start_info" { ptr: u64, len: u64 } -> u64,
    /// Switches address space: `root` is the guest-physical address of a
    /// page-table root (the guest's CR3).
    MmuSetBase = 5 => "mmu_set_base" { root: u64 } -> (),
    /// Returns the current page-table root (guest-physical).
    MmuGetBase = 6 => "mmu_get_base" {} -> u64,
    /// Invalidates the page holding guest-virtual `address`.
    MmuInvalidatePage = 7 => "mmu_invalidate_page" { address: u64 } -> (),
    /// Invalidates all translations of `scope`, a [`FlushScope`].
    MmuFlush = 8 => "mmu_flush" { scope: u64 } -> (),
    /// Registers exception `handler` for `vector`; handler 0 removes it.
    SetTrapHandler = 9 => "set_trap_handler" { vector: u64, handler: u64 } -> (),
    /// Returns from an exception handler: restores the
    /// [`ExceptionFrame`](crate::trap::ExceptionFrame) at `rsp` and returns
    /// its `rax`.
    Iret = 10 => "iret" {} -> u64,
    /// Registers the shared-information page at guest-physical `gpa`,
    /// page-aligned.
    RegisterSharedInfo = 11 => "register_shared_info" { gpa: u64 } -> (),
    /// Registers the event upcall entry point `handler`; 0 removes it.
    SetCallback = 12 => "set_callback" { handler: u64 } -> (),
    /// Arms the one-shot timer for `deadline_ns` in virtual time; 0 cancels.
    SetTimer = 13 => "set_timer" { deadline_ns: u64 } -> (),
    /// Sleeps until an event is pending for the domain.
    Block = 14 => "block" {} -> (),
    /// Binds a new port to virtual IRQ `virq`; returns the port.
    EventBindVirq = 15 => "event_bind_virq" { virq: u64 } -> u32,
    /// Allocates a port for `remote_domain` to bind; returns the port.
    EventAllocUnbound = 16 => "event_alloc_unbound" { remote_domain: u64 } -> u32,
    /// Binds a new port to `remote_port` of `remote_domain`; returns the
    /// port.
    EventBindInterdomain = 17 => "event_bind_interdomain" {
        remote_domain: u64,
        remote_port: u64,
    } -> u32,
    /// Signals `port`.
    EventSend = 18 => "event_send" { port: u64 } -> (),
    /// Closes `port`.
    EventClose = 19 => "event_close" { port: u64 } -> (),
    /// Reports the state of `port`.
    EventStatus = 20 => "event_status" { port: u64 } -> PortStatus,
    /// Unmasks `port` and delivers its pending event.
    EventUnmask = 21 => "event_unmask" { port: u64 } -> (),
    /// Delivers a pending upcall now (after unmasking).
    ForceCallback = 22 => "force_callback" {} -> (),
    /// Finds the domain named by the `len` bytes at `ptr`; returns its id.
    DomainLookup = 23 => "domain_lookup" { ptr: u64, len: u64 } -> u32,
    /// Retired in ABI 4.0 (it attached split console rings to a backend in
    /// the hypervisor; a frontend now grants its ring page to the console
    /// server with `frontend_connect`): always answers
    /// `UNKNOWN_HYPERCALL`. The number is never reused.
    ConsoleAttach = 24 => "console_attach" { gpa: u64 } -> (),
    /// Returns the sectors of the domain's virtual disk (0: none).
    BlockInfo = 25 => "block_info" {} -> u64,
    /// Retired in ABI 2.0 (it registered a block virtqueue with a block
    /// backend in the hypervisor; the disk is now the driver domain's):
    /// always answers `UNKNOWN_HYPERCALL`. The number is never reused.
    BlockQueueSetup = 26 => "block_queue_setup" {
        descriptors: u64,
        available: u64,
        used: u64,
        size: u64,
    } -> (),
    /// Runs the batch of `count`
    /// [`MulticallEntry`](crate::multicall::MulticallEntry) at `ptr`;
    /// returns how many ran.
    Multicall = 27 => "multicall" { ptr: u64, count: u64 } -> u64,
    /// Registers the guest-kernel stack `top` (lower half; 0 removes it):
    /// where a trap from guest-user mode pushes its frame.
    SetKernelStack = 28 => "set_kernel_stack" { top: u64 } -> (),
    /// Registers the guest kernel's system-call entry `handler`: where a
    /// `syscall` from guest-user mode enters (0 removes it).
    SetSyscallEntry = 29 => "set_syscall_entry" { handler: u64 } -> (),
    /// Grants domain `domain` access to the caller's page at guest-physical
    /// `gpa` ([`grant`](crate::grant) flags); returns the grant reference.
    GrantAccess = 30 => "grant_access" { domain: u64, gpa: u64, flags: u64 } -> u32,
    /// Ends the caller's grant `reference` (refused while it is mapped).
    GrantEnd = 31 => "grant_end" { reference: u64 } -> (),
    /// Maps grant `reference` of domain `domain` into the caller's grant
    /// window; returns the guest-physical address of the page there.
    GrantMap = 32 => "grant_map" { domain: u64, reference: u64, flags: u64 } -> u64,
    /// Removes the grant mapped at window address `gpa`.
    GrantUnmap = 33 => "grant_unmap" { gpa: u64 } -> (),
    /// Copies `len` bytes of domain `domain`'s granted page (`address`:
    /// reference << 12 | offset) to the caller's memory at `buffer`.
    GrantCopyFrom = 34 => "grant_copy_from" {
        domain: u64,
        address: u64,
        buffer: u64,
        len: u64,
    } -> (),
    /// Copies `len` bytes at the caller's `buffer` into domain `domain`'s
    /// granted page (`address`: reference << 12 | offset); the grant must
    /// be writable.
    GrantCopyTo = 35 => "grant_copy_to" {
        domain: u64,
        address: u64,
        buffer: u64,
        len: u64,
    } -> (),
    /// Driver domain: binds the assigned device's interrupt line `irq` to
    /// a new port of the caller; returns the port.
    IrqBind = 36 => "irq_bind" { irq: u64 } -> u32,
    /// Driver domain: the interrupt of the line bound to `port` was
    /// handled; lets the line's next interrupt through.
    IrqDone = 37 => "irq_done" { port: u64 } -> (),
    /// Driver domain: reads the dword at `offset` of the assigned PCI
    /// function's configuration space.
    PciConfigRead = 38 => "pci_config_read" { offset: u64 } -> u32,
    /// Driver domain: writes `value` to the dword at `offset` of the
    /// assigned function's configuration space (the command register only).
    PciConfigWrite = 39 => "pci_config_write" { offset: u64, value: u64 } -> (),
    /// Driver domain: the machine address of its own guest-physical `gpa`,
    /// for the device's DMA.
    DmaAddress = 40 => "dma_address" { gpa: u64 } -> u64,
    /// Arms the domain's watchdog: unless the domain calls again within
    /// `timeout_ns` (virtual time, [`WATCHDOG_MIN_NS`] to
    /// [`WATCHDOG_MAX_NS`]), the hypervisor
    /// stops it as hung (and restarts it if it is restartable). 0 disarms.
    Watchdog = 41 => "watchdog" { timeout_ns: u64 } -> (),
    /// Driver domain: the caller becomes the backend of `kind`, a
    /// [`backend::Kind`](crate::backend::Kind).
    BackendOffer = 42 => "backend_offer" { kind: u64 } -> (),
    /// The id of the live backend domain of `kind`.
    BackendDomain = 43 => "backend_domain" { kind: u64 } -> u32,
    /// Asks the backend of `kind` to serve the caller: `reference` is the
    /// caller's grant of its ring page to the backend domain, `port` a port
    /// of the caller allocated unbound for the backend domain.
    FrontendConnect = 44 => "frontend_connect" { kind: u64, reference: u64, port: u64 } -> (),
    /// Backend: takes pending
    /// [`Connection`](crate::backend::Connection)s to its backend of
    /// `kind` into the `len` bytes at `ptr`; returns how many.
    BackendAccept = 45 => "backend_accept" { kind: u64, ptr: u64, len: u64 } -> u64,
    /// Console backend: moves whole
    /// [`console_feed`](crate::console_feed) records, oldest first, into
    /// the `len` bytes at `ptr`; returns the bytes written (0: none
    /// queued).
    ConsoleRead = 46 => "console_read" { ptr: u64, len: u64 } -> u64,
    /// Retired in ABI 4.0 (the console server gave typed bytes to the
    /// hypervisor for a domain's input ring; it now fills the ring itself):
    /// always answers `UNKNOWN_HYPERCALL`. The number is never reused.
    ConsoleInput = 47 => "console_input" { domain: u64, ptr: u64, len: u64 } -> u64,
    /// Console backend: runs the operator's `command`, a
    /// [`ConsoleCommand`](crate::console_feed::ConsoleCommand) (`focus`:
    /// the domain the terminal's input goes to).
    ConsoleCommand = 48 => "console_command" { command: u64, focus: u64 } -> (),
    /// Copies the name of running domain `domain` (at most `len` bytes) to
    /// `ptr`; returns its length.
    DomainName = 49 => "domain_name" { domain: u64, ptr: u64, len: u64 } -> u64,
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

/// Shortest timeout [`Hypercall::Watchdog`] accepts: 1 ms.
pub const WATCHDOG_MIN_NS: u64 = 1_000_000;
/// Longest timeout [`Hypercall::Watchdog`] accepts: 60 s.
pub const WATCHDOG_MAX_NS: u64 = 60_000_000_000;

/// Largest `len` accepted by [`Hypercall::ConsoleWrite`] in one call.
pub const CONSOLE_WRITE_MAX: u64 = 4096;

#[cfg(test)]
mod tests;
