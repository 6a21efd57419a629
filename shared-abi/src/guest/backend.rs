//! Wrappers for finding backends and connecting to them (see
//! [`crate::backend`]): [`offer`] and [`accept`] for a backend in the
//! driver domain, [`domain`] and [`connect`] for a frontend, and
//! [`watch`] and [`changed`] for frontends that follow their backend
//! when it goes away or a new one appears.

use core::sync::atomic::{AtomicU32, Ordering};

use spin::Once;

use crate::Status;
use crate::backend::{Connection, Kind};
use crate::event::Virq;
use crate::hypercall::request;

/// `Virq::Backend` events so far.
static CHANGES: AtomicU32 = AtomicU32::new(0);

fn on_backend(_port: u32) {
    CHANGES.fetch_add(1, Ordering::SeqCst);
}

/// Binds [`Virq::Backend`] (once, whoever asks first; virtual interrupts
/// must be set up): from then on [`changed`] tells each frontend when a
/// backend came or went. Returns whether it is bound.
pub fn watch() -> bool {
    static BOUND: Once<bool> = Once::new();
    *BOUND.call_once(|| super::interrupts::bind_virq(Virq::Backend, on_backend).is_ok())
}

/// Whether a backend came or went since `seen` was last brought up to
/// date (by [`changed`]), leaving `seen` as it is.
pub fn has_changed(seen: &AtomicU32) -> bool {
    CHANGES.load(Ordering::SeqCst) != seen.load(Ordering::SeqCst)
}

/// Whether a backend came or went since `seen` was last brought up to
/// date (by this call, which does it).
pub fn changed(seen: &AtomicU32) -> bool {
    let now = CHANGES.load(Ordering::SeqCst);
    seen.swap(now, Ordering::SeqCst) != now
}

/// Makes this domain (the driver domain) the backend of `kind`; every
/// other live domain gets [`Virq::Backend`].
///
/// # Errors
///
/// [`Status::Denied`] unless this is the driver domain;
/// [`Status::AlreadyBound`] when a live domain serves `kind` already.
#[inline]
pub fn offer(kind: Kind) -> Result<(), Status> {
    // SAFETY: no pointer; the hypervisor only records the caller.
    unsafe { super::call(request::BackendOffer { kind: kind as u64 }) }
}

/// The id of the live backend domain of `kind`.
///
/// # Errors
///
/// [`Status::NotReady`] when no live domain serves `kind`.
#[inline]
pub fn domain(kind: Kind) -> Result<u32, Status> {
    // SAFETY: no pointer.
    unsafe { super::call(request::BackendDomain { kind: kind as u64 }) }
}

/// Asks the backend of `kind` to serve this domain over the ring page this
/// domain granted it as `reference`, signalling on `port` (allocated
/// unbound for the backend domain).
///
/// # Errors
///
/// [`Status::BadPort`] when `port` is not a port of this domain unbound for
/// the backend domain; [`Status::NotReady`] with no backend, or (for
/// [`Kind::Block`]) no disk region; [`Status::InvalidArgument`] (for
/// [`Kind::Console`]) when `reference` is not a live, writable grant to
/// the backend domain; [`Status::LimitReached`] when the backend has 16
/// connections pending.
#[inline]
pub fn connect(kind: Kind, reference: u32, port: u32) -> Result<(), Status> {
    // SAFETY: no pointer; the backend reaches the page through the grant.
    unsafe {
        super::call(request::FrontendConnect {
            kind: kind as u64,
            reference: reference.into(),
            port: port.into(),
        })
    }
}

/// Backend: takes pending connections to this domain's backend of `kind`
/// into `into`; returns how many.
///
/// # Errors
///
/// [`Status::Denied`] unless this domain is the backend of `kind`.
#[inline]
pub fn accept(kind: Kind, into: &mut [Connection]) -> Result<usize, Status> {
    let accept = request::BackendAccept {
        kind: kind as u64,
        ptr: into.as_mut_ptr() as u64,
        len: core::mem::size_of_val(into) as u64,
    };
    // SAFETY: the hypervisor writes whole records within the `len` bytes
    // of `into`, exclusively borrowed for the call.
    unsafe { super::call(accept) }.map(|count| count as usize)
}

/// Backend: takes every pending connection to this domain's backend of
/// `kind`, a few at a time, handing each to `take`.
///
/// # Errors
///
/// As [`accept`] (the connections taken before the error were handed
/// over).
pub fn accept_all(kind: Kind, mut take: impl FnMut(&Connection)) -> Result<(), Status> {
    let mut pending = [Connection::default(); 4];
    loop {
        let count = accept(kind, &mut pending)?;
        pending[..count].iter().for_each(&mut take);
        if count < pending.len() {
            return Ok(());
        }
    }
}
