//! Wrappers for the shared-information page, the upcall entry, the timer and
//! event channels.

use super::hypercall;
use crate::event::PortStatus;
use crate::{Hypercall, Status};

fn call(call: Hypercall, args: [u64; 5]) -> Result<u64, Status> {
    // SAFETY: the calls wrapped here take integers only, or (domain_lookup)
    // a pointer and length the caller's borrow keeps valid.
    Status::result(unsafe { hypercall(call, args) })
}

/// Registers the page at guest-physical `gpa` as the shared-information page.
pub fn register_shared_info(gpa: u64) -> Result<(), Status> {
    call(Hypercall::RegisterSharedInfo, [gpa, 0, 0, 0, 0]).map(|_| ())
}

/// Arms the one-shot timer for virtual time `deadline_ns` (0 cancels).
pub fn set_timer(deadline_ns: u64) -> Result<(), Status> {
    call(Hypercall::SetTimer, [deadline_ns, 0, 0, 0, 0]).map(|_| ())
}

/// Enables virtual interrupts and sleeps until an event is pending.
pub fn block() -> Result<(), Status> {
    call(Hypercall::Block, [0; 5]).map(|_| ())
}

/// Delivers a pending upcall now (after unmasking with events pending).
pub fn force_callback() {
    let _ = call(Hypercall::ForceCallback, [0; 5]);
}

/// Binds a new port to virtual IRQ `virq`.
pub fn bind_virq(virq: crate::event::Virq) -> Result<u32, Status> {
    call(Hypercall::EventBindVirq, [virq as u64, 0, 0, 0, 0]).map(|port| port as u32)
}

/// Allocates a port for domain `remote` to bind.
pub fn alloc_unbound(remote: u32) -> Result<u32, Status> {
    call(Hypercall::EventAllocUnbound, [remote as u64, 0, 0, 0, 0]).map(|port| port as u32)
}

/// Binds a new port to `remote_port` of domain `remote`.
pub fn bind_interdomain(remote: u32, remote_port: u32) -> Result<u32, Status> {
    call(
        Hypercall::EventBindInterdomain,
        [remote as u64, remote_port as u64, 0, 0, 0],
    )
    .map(|port| port as u32)
}

/// Signals `port`.
pub fn send(port: u32) -> Result<(), Status> {
    call(Hypercall::EventSend, [port as u64, 0, 0, 0, 0]).map(|_| ())
}

/// Closes `port`.
pub fn close(port: u32) -> Result<(), Status> {
    call(Hypercall::EventClose, [port as u64, 0, 0, 0, 0]).map(|_| ())
}

/// The state of `port`.
pub fn status(port: u32) -> Result<PortStatus, Status> {
    let raw = call(Hypercall::EventStatus, [port as u64, 0, 0, 0, 0])?;
    PortStatus::decode(raw).ok_or(Status::InvalidArgument)
}

/// Unmasks `port`, delivering its pending event.
pub fn unmask(port: u32) -> Result<(), Status> {
    call(Hypercall::EventUnmask, [port as u64, 0, 0, 0, 0]).map(|_| ())
}

/// The id of the live domain called `name`.
pub fn domain_lookup(name: &str) -> Result<u32, Status> {
    call(
        Hypercall::DomainLookup,
        [name.as_ptr() as u64, name.len() as u64, 0, 0, 0],
    )
    .map(|id| id as u32)
}
