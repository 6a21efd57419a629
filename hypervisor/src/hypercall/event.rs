//! Event-channel calls, the shared-information page, the upcall entry
//! (`set_callback`, `force_callback`) and `domain_lookup`, which finds the
//! peer to connect to.

use core::sync::atomic::Ordering;

use shared_abi::Status;
use shared_abi::event::{PortStatus, Virq};
use shared_abi::hypercall::request::{
    DomainLookup, EventAllocUnbound, EventBindInterdomain, EventBindVirq, EventClose, EventSend,
    EventStatus, EventUnmask, ForceCallback, RegisterSharedInfo, SetCallback,
};
use shared_abi::shared_info::{SharedInfo, ns_multiplier};

use crate::domain::Domain;
use crate::domain::table::DomainTable;
use crate::event::ports::{self, Port};
use crate::mm::address::{GuestVirtAddr, is_guest_address};

/// Most bytes of a domain name `domain_lookup` reads.
const NAME_MAX: u64 = 32;

/// `register_shared_info(gpa)`: the page must be page-aligned guest memory.
/// Its time fields are initialised, no port is pending or masked, and
/// virtual interrupts start masked.
pub(super) fn register_shared_info(
    domain: &mut Domain,
    RegisterSharedInfo { gpa }: RegisterSharedInfo,
) -> Result<(), Status> {
    domain.register_shared_page(gpa)?;
    let shared: &SharedInfo = domain.shared().ok_or(Status::InvalidArgument)?;
    let time = &shared.time;
    time.version.fetch_add(1, Ordering::SeqCst);
    time.system_time_ns.store(0, Ordering::SeqCst);
    time.tsc_timestamp
        .store(domain.start_tsc(), Ordering::SeqCst);
    time.tsc_to_ns_mul
        .store(ns_multiplier(crate::time::tsc_hz()), Ordering::SeqCst);
    time.tsc_hz.store(crate::time::tsc_hz(), Ordering::SeqCst);
    time.idle_tsc.store(0, Ordering::SeqCst);
    let version = time.version.load(Ordering::SeqCst);
    time.version.store((version | 1) + 1, Ordering::SeqCst);
    shared.pending.store(0, Ordering::SeqCst);
    shared.mask.store(0, Ordering::SeqCst);
    shared.vcpu.upcall_pending.store(0, Ordering::SeqCst);
    shared.vcpu.upcall_mask.store(1, Ordering::SeqCst);
    Ok(())
}

/// `set_callback(handler)`: 0 removes it.
pub(super) fn set_callback(
    domain: &mut Domain,
    SetCallback { handler }: SetCallback,
) -> Result<(), Status> {
    if handler != 0 && !is_guest_address(handler) {
        return Err(Status::BadAddress);
    }
    domain.set_callback(handler);
    Ok(())
}

/// `force_callback()`: nothing to do here; a pending upcall is delivered
/// on the way back to the guest.
pub(super) fn force_callback(_: &mut Domain, _: ForceCallback) -> Result<(), Status> {
    Ok(())
}

fn ready(domain: &Domain) -> Result<(), Status> {
    domain.shared().map(|_| ()).ok_or(Status::NotReady)
}

/// `event_bind_virq(virq)`.
pub(super) fn bind_virq(
    domain: &mut Domain,
    EventBindVirq { virq }: EventBindVirq,
) -> Result<u32, Status> {
    ready(domain)?;
    domain.ports_mut().bind_virq(virq)
}

/// `event_alloc_unbound(remote_domain)`: the peer must be a live domain.
pub(super) fn alloc_unbound(
    table: &mut DomainTable,
    EventAllocUnbound { remote_domain }: EventAllocUnbound,
) -> Result<u32, Status> {
    ready(table.caller())?;
    let remote = u32::try_from(remote_domain).map_err(|_| Status::BadPort)?;
    if table.domain(remote).is_none() {
        return Err(Status::BadPort);
    }
    table.caller().ports_mut().alloc_unbound(remote)
}

/// `event_bind_interdomain(remote_domain, remote_port)`.
#[inline]
pub(super) fn bind_interdomain(
    table: &mut DomainTable,
    request: EventBindInterdomain,
) -> Result<u32, Status> {
    let EventBindInterdomain {
        remote_domain,
        remote_port,
    } = request;
    let caller = table.caller();
    ready(caller)?;
    let local = caller.id();
    let remote = u32::try_from(remote_domain).map_err(|_| Status::BadPort)?;
    ports::bind_interdomain(table, local, remote, remote_port)
}

/// `event_send(port)`: marks the peer's port pending; on the timer VIRQ
/// port, the port itself; on a device VIRQ port (console, block), asks the
/// device's backend to run at the next scheduling point.
#[inline]
pub(super) fn send(table: &mut DomainTable, EventSend { port }: EventSend) -> Result<(), Status> {
    let caller = table.caller();
    caller.counters_mut().event();
    match caller.ports().get(port)? {
        Port::Interdomain {
            remote,
            remote_port,
        } => {
            let peer = table.domain(remote).ok_or(Status::BadPort)?;
            peer.raise(remote_port);
            Ok(())
        }
        Port::Virq(Virq::Timer) => {
            caller.raise(port as u32);
            Ok(())
        }
        // The console runs at every scheduling point (when the guest blocks,
        // yields or its slice ends), off the guest's own time.
        Port::Virq(_) => Ok(()),
        // An interrupt line is raised by its device alone.
        Port::Irq(_) => Ok(()),
        Port::Unbound { .. } | Port::Free => Err(Status::BadPort),
    }
}

/// `event_close(port)`: a connected peer's end becomes unbound again and
/// is raised once.
#[inline]
pub(super) fn close(
    table: &mut DomainTable,
    EventClose { port }: EventClose,
) -> Result<(), Status> {
    let caller = table.caller();
    let local = caller.id();
    let closed = caller.ports_mut().close(port)?;
    if let Some(shared) = caller.shared() {
        shared.pending.fetch_and(!(1u64 << port), Ordering::SeqCst);
    }
    hang_up(table, local, port as u32, closed);
    Ok(())
}

/// The peer of a closed interdomain port: its end becomes unbound and is
/// raised once, so that a peer waiting on it notices. A closed interrupt
/// port masks its line for good.
fn hang_up(table: &mut DomainTable, local: u32, port: u32, closed: Port) {
    if let Port::Irq(_) = closed {
        crate::devices::assigned::release_irq();
    }
    ports::disconnect_peer(table, local, port, closed);
    if let Port::Interdomain {
        remote,
        remote_port,
    } = closed
        && let Some(peer) = table.domain(remote)
    {
        peer.raise(remote_port);
    }
}

/// Closes every port of the domain at `index` (it is ending).
pub(crate) fn close_all(table: &mut DomainTable, index: usize) {
    let local = table.at(index).id();
    let open: alloc::vec::Vec<u32> = table
        .at(index)
        .ports()
        .allocated()
        .map(|(n, _)| n)
        .collect();
    for port in open {
        if let Ok(closed) = table.at_mut(index).ports_mut().close(port as u64) {
            hang_up(table, local, port, closed);
        }
    }
}

/// `event_status(port)`.
pub(super) fn status(
    domain: &mut Domain,
    EventStatus { port }: EventStatus,
) -> Result<PortStatus, Status> {
    domain.ports().status(port)
}

/// `event_unmask(port)`: clears the mask bit; a pending event is then
/// signalled as if it had just arrived.
pub(super) fn unmask(domain: &mut Domain, EventUnmask { port }: EventUnmask) -> Result<(), Status> {
    domain.ports().get(port)?;
    let shared = domain.shared().ok_or(Status::NotReady)?;
    let bit = 1u64 << port;
    shared.mask.fetch_and(!bit, Ordering::SeqCst);
    if shared.pending.load(Ordering::SeqCst) & bit != 0 {
        shared.vcpu.upcall_pending.store(1, Ordering::SeqCst);
    }
    Ok(())
}

/// `domain_lookup(ptr, len)`: the id of the live domain with that name.
pub(super) fn lookup(
    table: &mut DomainTable,
    DomainLookup { ptr, len }: DomainLookup,
) -> Result<u32, Status> {
    if len > NAME_MAX {
        return Err(Status::InvalidArgument);
    }
    let mut name = [0u8; NAME_MAX as usize];
    let name = &mut name[..len as usize];
    table.caller().read_guest(GuestVirtAddr(ptr), name)?;
    table
        .iter()
        .find(|d| d.is_alive() && d.name().as_bytes() == name)
        .map(|d| d.id())
        .ok_or(Status::BadPort)
}
