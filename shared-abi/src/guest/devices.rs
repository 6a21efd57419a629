//! Wrappers for attaching the split devices: the console rings and the
//! block virtqueue.

use super::hypercall;
use crate::{Hypercall, Status};

/// Attaches the split console rings in the page at guest-physical `gpa`.
pub fn console_attach(gpa: u64) -> Result<(), Status> {
    // SAFETY: the hypervisor validates the page, which is the caller's own.
    Status::result(unsafe { hypercall(Hypercall::ConsoleAttach, [gpa, 0, 0, 0, 0]) }).map(|_| ())
}

/// The sectors of this domain's virtual disk (0 when it has none).
pub fn block_info() -> u64 {
    // SAFETY: block_info takes no arguments.
    Status::result(unsafe { hypercall(Hypercall::BlockInfo, [0; 5]) }).unwrap_or(0)
}

/// Registers the block virtqueue of `size` entries whose descriptor table,
/// available ring and used ring are at these guest-physical addresses.
pub fn block_queue_setup(
    descriptors: u64,
    available: u64,
    used: u64,
    size: u16,
) -> Result<(), Status> {
    let args = [descriptors, available, used, size as u64, 0];
    // SAFETY: the hypervisor validates the queue's addresses and size.
    Status::result(unsafe { hypercall(Hypercall::BlockQueueSetup, args) }).map(|_| ())
}
