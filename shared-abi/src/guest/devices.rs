//! Wrappers for the split devices' calls to the hypervisor: attaching the
//! console rings, and the size of the domain's disk region (which the
//! driver domain's block backend serves). Most guests use the frontends
//! built on them instead: [`console`](super::console) and
//! [`block`](super::block).
//!
//! Order: bind the console VIRQ first
//! ([`events::bind_virq`](super::events::bind_virq)), so that the
//! backend's notifications (input arrived, output drained) are not lost,
//! then attach.

use super::call;
use crate::Status;
use crate::hypercall::request;

/// Attaches the split console: the page at guest-physical `gpa`
/// (page-aligned, inside the domain's memory, kept for this purpose) holds
/// the [`ConsoleRings`](crate::ring::ConsoleRings); all four indices are
/// reset to 0. Attaching again moves the console to the new page.
///
/// # Errors
///
/// [`Status::InvalidArgument`] when `gpa` is not page-aligned or lies
/// outside the domain's memory.
#[inline]
pub fn console_attach(gpa: u64) -> Result<(), Status> {
    // SAFETY: the hypervisor validates the page, which is the caller's own.
    unsafe { call(request::ConsoleAttach { gpa }) }
}

/// The number of 512-byte sectors of this domain's region of the disk: 0
/// when it has none (no disk attached to QEMU, or the domain is the driver
/// domain or has `disk=none`). The driver domain's backend refuses a
/// region that does not lie on the disk. Never fails.
#[inline]
pub fn block_info() -> u64 {
    // SAFETY: block_info takes no arguments.
    unsafe { call(request::BlockInfo) }.unwrap_or(0)
}
