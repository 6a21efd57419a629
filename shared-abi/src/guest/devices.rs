//! Wrappers for attaching the split devices: the console rings and the
//! block virtqueue. Most guests use the frontends built on them instead:
//! [`console`](super::console) and [`block`](super::block).
//!
//! Order: bind the device's VIRQ first
//! ([`events::bind_virq`](super::events::bind_virq)), so that the
//! backend's notifications (input arrived, output drained, requests
//! completed) are not lost, then attach.

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

/// The number of 512-byte sectors of this domain's virtual disk: 0 when it
/// has none (no disk attached to QEMU, or too small to give this domain its
/// region). Call it before [`block_queue_setup`]. Never fails.
#[inline]
pub fn block_info() -> u64 {
    // SAFETY: block_info takes no arguments.
    unsafe { call(request::BlockInfo) }.unwrap_or(0)
}

/// Registers the block virtqueue: a virtio split virtqueue of `size`
/// entries (a power of two, at most 32768) whose descriptor table (16-byte
/// aligned), available ring (2-byte aligned) and used ring (4-byte aligned)
/// lie at these guest-physical addresses, inside the domain's memory
/// (layouts in [`virtqueue`](crate::virtqueue)).
///
/// # Errors
///
/// [`Status::NotReady`] when the domain has no disk
/// ([`block_info`] is 0); [`Status::InvalidArgument`] for a bad size,
/// alignment or address.
#[inline]
pub fn block_queue_setup(
    descriptors: u64,
    available: u64,
    used: u64,
    size: u16,
) -> Result<(), Status> {
    let setup = request::BlockQueueSetup {
        descriptors,
        available,
        used,
        size: size.into(),
    };
    // SAFETY: the hypervisor validates the queue's addresses and size.
    unsafe { call(setup) }
}
