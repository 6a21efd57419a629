//! Wrappers for the split devices' calls to the hypervisor: the size of
//! the domain's disk region (which the driver domain's block backend
//! serves). Most guests use the frontends instead:
//! [`console`](super::console) and [`block`](super::block).

use super::call;
use crate::hypercall::request;

/// The number of 512-byte sectors of this domain's region of the disk: 0
/// when it has none (no disk attached to QEMU, or the domain is the driver
/// domain or has `disk=none`). The driver domain's backend refuses a
/// region that does not lie on the disk. Never fails.
#[inline]
pub fn block_info() -> u64 {
    // SAFETY: block_info takes no arguments.
    unsafe { call(request::BlockInfo) }.unwrap_or(0)
}
