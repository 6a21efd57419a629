//! Wrappers for grant tables: lending pages of this domain to another one
//! ([`access`], [`end`]) and using pages another domain lent ([`map`],
//! [`unmap`], [`copy_from`], [`copy_to`]). See [`crate::grant`] for the
//! reference format and the window.
//!
//! ```no_run
//! use shared_abi::grant::GrantRef;
//! use shared_abi::guest::grant;
//! # let (backend, frontend, page_gpa) = (2, 1, 0x5000);
//! // Frontend: lend a page read-write.
//! let reference = grant::access(backend, page_gpa, false)?;
//! // Backend: map the frontend's first grant, or copy from it.
//! let gpa = grant::map(frontend, GrantRef::first(0), true)?;
//! let mut bytes = [0u8; 16];
//! grant::copy_from(frontend, GrantRef::first(0), 0, &mut bytes)?;
//! grant::unmap(gpa)?;
//! // Frontend: take the page back.
//! grant::end(reference)?;
//! # Ok::<(), shared_abi::Status>(())
//! ```

use crate::Status;
use crate::grant::{GrantRef, MAP_WRITE, READ_ONLY};
use crate::hypercall::request;

/// Lends this domain's page at guest-physical `gpa` to domain `domain`,
/// read-only when `read_only`; returns the grant's reference (lowest free
/// slot; see [`GrantRef`]). The page stays this domain's: keep it
/// allocated until [`end`] succeeds.
///
/// # Errors
///
/// [`Status::InvalidArgument`] when `gpa` is not page-aligned or not in
/// this domain's memory, or `domain` is this domain;
/// [`Status::BadPort`] when no live domain has that id;
/// [`Status::LimitReached`] with 64 grants live.
#[inline]
pub fn access(domain: u32, gpa: u64, read_only: bool) -> Result<GrantRef, Status> {
    access_with(domain, gpa, if read_only { READ_ONLY } else { 0 })
}

/// [`access`] with the `grant_access` flags themselves: [`READ_ONLY`],
/// and [`COPY_ONLY`](crate::grant::COPY_ONLY) for a page the grantee may
/// only copy from and to (never map), whose grant therefore always ends at
/// once.
///
/// # Errors
///
/// As [`access`], and [`Status::InvalidArgument`] for an unknown flag.
#[inline]
pub fn access_with(domain: u32, gpa: u64, flags: u64) -> Result<GrantRef, Status> {
    let grant = request::GrantAccess {
        domain: domain as u64,
        gpa,
        flags,
    };
    // SAFETY: the page is only lent to the grantee, which can read (or
    // write) it as this domain could; the hypervisor keeps no pointer into
    // this domain's address space.
    unsafe { super::call(grant) }.map(|raw| GrantRef::from_raw(raw as u64))
}

/// Ends grant `reference` of this domain: the grantee can no longer map or
/// copy the page.
///
/// # Errors
///
/// [`Status::Busy`] while the grantee has it mapped (it must unmap first);
/// [`Status::InvalidArgument`] when `reference` names no live grant of
/// this domain.
#[inline]
pub fn end(reference: GrantRef) -> Result<(), Status> {
    let reference = reference.raw();
    // SAFETY: takes an integer; touches no memory.
    unsafe { super::call(request::GrantEnd { reference }) }
}

/// Maps grant `reference` of domain `domain` into this domain's grant
/// window, writable when `write`; returns the guest-physical address of
/// the page there, to map in this domain's page tables like any frame.
/// A read-only mapping stays read-only whatever the page tables say (a
/// write is a page fault). The page disappears (the next access faults)
/// if the granter ends.
///
/// # Errors
///
/// [`Status::Denied`] when the grant does not exist (ended, stale, never
/// issued), is not to this domain, or is read-only and `write` is asked;
/// [`Status::AlreadyBound`] when this domain has it mapped already;
/// [`Status::LimitReached`] with 32 grants mapped; [`Status::BadPort`]
/// when no live domain has id `domain`.
#[inline]
pub fn map(domain: u32, reference: GrantRef, write: bool) -> Result<u64, Status> {
    let map = request::GrantMap {
        domain: domain as u64,
        reference: reference.raw(),
        flags: if write { MAP_WRITE } else { 0 },
    };
    // SAFETY: the page appears above this domain's memory, where nothing
    // of its own lives; nothing is reached until the guest maps it.
    unsafe { super::call(map) }
}

/// Removes the grant mapped at window address `gpa` (from [`map`]); remove
/// this domain's own page-table entries for it first.
///
/// # Errors
///
/// [`Status::InvalidArgument`] when nothing is mapped at `gpa` (also after
/// the granter ended and the mapping was revoked).
#[inline]
pub fn unmap(gpa: u64) -> Result<(), Status> {
    // SAFETY: only the window page goes; this domain's memory is untouched.
    unsafe { super::call(request::GrantUnmap { gpa }) }
}

/// The `address` argument of the copy calls, or `INVALID_ARGUMENT`.
fn copy_address(reference: GrantRef, offset: u64) -> Result<u64, Status> {
    reference
        .copy_address(offset)
        .ok_or(Status::InvalidArgument)
}

/// Copies `out.len()` bytes from `offset` in grant `reference` of domain
/// `domain` into `out`.
///
/// # Errors
///
/// [`Status::InvalidArgument`] when `offset + out.len()` passes the end of
/// the page; [`Status::Denied`] as for [`map`]; [`Status::BadPort`] when
/// no live domain has id `domain`.
#[inline]
pub fn copy_from(
    domain: u32,
    reference: GrantRef,
    offset: u64,
    out: &mut [u8],
) -> Result<(), Status> {
    let copy = request::GrantCopyFrom {
        domain: domain as u64,
        address: copy_address(reference, offset)?,
        buffer: out.as_mut_ptr() as u64,
        len: out.len() as u64,
    };
    // SAFETY: the hypervisor writes at most `out.len()` bytes to `out`,
    // exclusively borrowed for the call.
    unsafe { super::call(copy) }
}

/// Copies `data` to `offset` in grant `reference` of domain `domain`.
///
/// # Errors
///
/// As [`copy_from`]; [`Status::Denied`] also for a read-only grant.
#[inline]
pub fn copy_to(domain: u32, reference: GrantRef, offset: u64, data: &[u8]) -> Result<(), Status> {
    let copy = request::GrantCopyTo {
        domain: domain as u64,
        address: copy_address(reference, offset)?,
        buffer: data.as_ptr() as u64,
        len: data.len() as u64,
    };
    // SAFETY: the hypervisor only reads `data.len()` bytes at `data`,
    // borrowed for the call.
    unsafe { super::call(copy) }
}
