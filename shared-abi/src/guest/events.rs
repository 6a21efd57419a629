//! Wrappers for the shared-information page, the timer and event channels.
//!
//! Order: [`register_shared_info`] comes first; every port call before it
//! fails with `NotReady` ([`interrupts::init`](super::interrupts::init)
//! makes it, with the upcall entry). Ports are numbered from 1, lowest
//! free first, at most 63 per domain. Events on a port set its pending
//! bit in the shared page and are delivered as an upcall when neither the
//! port's mask bit nor the virtual interrupt flag holds them back; the
//! [`interrupts`](super::interrupts) module runs a handler per port.
//!
//! ```no_run
//! use shared_abi::guest::events;
//! // A loopback pair: what is sent on `offered` arrives at `bound`.
//! let me = shared_abi::guest::start_info()?.domain_id;
//! let offered = events::alloc_unbound(me)?;
//! let bound = events::bind_interdomain(me, offered)?;
//! events::send(offered)?;
//! events::close(bound)?;
//! # Ok::<(), shared_abi::Status>(())
//! ```

use crate::Status;
use crate::event::PortStatus;
use crate::hypercall::{Request, request};

/// Issues `request`, one of the event-channel calls.
fn call<R: Request>(request: R) -> Result<R::Output, Status> {
    // SAFETY: the calls wrapped here take integers only, or (domain_lookup)
    // a pointer and length the caller's borrow keeps valid.
    unsafe { super::call(request) }
}

/// Registers the page at guest-physical `gpa` (page-aligned, a frame the
/// guest owns and keeps for this purpose) as the shared-information page.
/// The hypervisor initialises its time fields, clears the pending and mask
/// bits and masks virtual interrupts. Registering again moves the page.
///
/// # Errors
///
/// [`Status::InvalidArgument`] when `gpa` is not page-aligned or lies
/// outside the domain's memory.
#[inline]
pub fn register_shared_info(gpa: u64) -> Result<(), Status> {
    call(request::RegisterSharedInfo { gpa })
}

/// Arms the domain's one-shot timer for absolute virtual time `deadline_ns`
/// (nanoseconds since the domain started, as
/// [`now_ns`](super::interrupts::now_ns); 0 cancels), replacing the
/// previous deadline. On expiry the port bound to the timer VIRQ is raised;
/// a deadline already past fires at once. Bind the timer VIRQ first, or the
/// expiry is lost. Never fails.
#[inline]
pub fn set_timer(deadline_ns: u64) -> Result<(), Status> {
    call(request::SetTimer { deadline_ns })
}

/// Enables virtual interrupts and, unless an event is already pending,
/// sleeps until one is; the upcall runs before this returns. Clearing the
/// mask and sleeping are one step, so check your condition with interrupts
/// masked and then call this (as
/// [`wait_for_event`](super::interrupts::wait_for_event) does).
///
/// # Errors
///
/// [`Status::NotReady`] before [`register_shared_info`].
#[inline]
pub fn block() -> Result<(), Status> {
    call(request::Block)
}

/// Delivers a pending upcall now: after clearing `upcall_mask` and seeing
/// `upcall_pending` set ([`enable`](super::interrupts::enable) does this).
/// Never fails.
#[inline]
pub fn force_callback() {
    let _ = call(request::ForceCallback);
}

/// Binds a new port to virtual IRQ `virq` (timer, console or block);
/// returns the port. Bind before arming the timer or attaching the device.
///
/// # Errors
///
/// [`Status::AlreadyBound`] when `virq` already has a port,
/// [`Status::LimitReached`] when the domain has no free port,
/// [`Status::NotReady`] before [`register_shared_info`].
#[inline]
pub fn bind_virq(virq: crate::event::Virq) -> Result<u32, Status> {
    call(request::EventBindVirq { virq: virq as u64 })
}

/// Allocates a port offered to domain `remote` (possibly this domain, for a
/// loopback pair), which connects it with [`bind_interdomain`]; returns the
/// port.
///
/// # Errors
///
/// [`Status::BadPort`] when no live domain has id `remote`,
/// [`Status::LimitReached`], [`Status::NotReady`].
#[inline]
pub fn alloc_unbound(remote: u32) -> Result<u32, Status> {
    call(request::EventAllocUnbound {
        remote_domain: remote.into(),
    })
}

/// Binds a new port to `remote_port` of domain `remote`, which must have
/// offered it to this domain with [`alloc_unbound`]; returns the new port.
/// Until the peer has offered it this fails, so retry (yielding) or agree on
/// the order beforehand.
///
/// # Errors
///
/// [`Status::BadPort`] for a missing domain, a free port or a port offered
/// to someone else, [`Status::AlreadyBound`] when it is already connected,
/// [`Status::LimitReached`], [`Status::NotReady`].
#[inline]
pub fn bind_interdomain(remote: u32, remote_port: u32) -> Result<u32, Status> {
    call(request::EventBindInterdomain {
        remote_domain: remote.into(),
        remote_port: remote_port.into(),
    })
}

/// Raises the peer's end of interdomain port `port` (or, for a VIRQ port,
/// the port itself).
///
/// # Errors
///
/// [`Status::BadPort`] for a free port or one whose peer has closed (this
/// end is then unbound).
#[inline]
pub fn send(port: u32) -> Result<(), Status> {
    call(request::EventSend { port: port.into() })
}

/// Frees `port`. A connected peer's end becomes unbound and is raised once,
/// so a peer waiting on it notices.
///
/// # Errors
///
/// [`Status::BadPort`] for a port that is not in use.
#[inline]
pub fn close(port: u32) -> Result<(), Status> {
    call(request::EventClose { port: port.into() })
}

/// The state of `port`: free, unbound, interdomain (with the peer) or VIRQ.
///
/// # Errors
///
/// [`Status::BadPort`] for port 0 or beyond 63;
/// [`Status::InvalidArgument`] if the hypervisor answers a state this crate
/// does not know.
#[inline]
pub fn status(port: u32) -> Result<PortStatus, Status> {
    call(request::EventStatus { port: port.into() })
}

/// Clears `port`'s mask bit; if an event is pending on it, the upcall is
/// delivered before this returns (when virtual interrupts are enabled).
///
/// # Errors
///
/// [`Status::BadPort`], [`Status::NotReady`] before
/// [`register_shared_info`].
#[inline]
pub fn unmask(port: u32) -> Result<(), Status> {
    call(request::EventUnmask { port: port.into() })
}

/// The id of the live domain called `name` (at most 32 bytes), for
/// connecting to it by name. Domains start in bundle order, so a peer may
/// not exist yet: retry after [`yield_now`](super::yield_now).
///
/// # Errors
///
/// [`Status::BadPort`] when no live domain has that name,
/// [`Status::InvalidArgument`] for a name longer than 32 bytes.
#[inline]
pub fn domain_lookup(name: &str) -> Result<u32, Status> {
    call(request::DomainLookup {
        ptr: name.as_ptr() as u64,
        len: name.len() as u64,
    })
}
