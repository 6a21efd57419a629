//! The domain's watchdog (ABI 1.9): once armed, the domain must call
//! [`arm`] again within the timeout, or the hypervisor takes it as hung
//! and stops it (restarting it when its bundle entry asks for restarts;
//! `StartInfo::restarts` then tells the new run).
//!
//! ```no_run
//! use shared_abi::guest::watchdog;
//! watchdog::arm(500_000_000)?; // half a second of virtual time
//! // ... do work, calling watchdog::arm(500_000_000) at least that often ...
//! watchdog::disarm();
//! # Ok::<(), shared_abi::Status>(())
//! ```

use super::call;
use crate::Status;
use crate::hypercall::request;

/// Arms (or pushes back) the watchdog: unless this is called again within
/// `timeout_ns` of virtual time, the domain is stopped as hung.
///
/// # Errors
///
/// [`Status::InvalidArgument`] for a timeout outside
/// [`WATCHDOG_MIN_NS`](crate::hypercall::WATCHDOG_MIN_NS)..=[`WATCHDOG_MAX_NS`](crate::hypercall::WATCHDOG_MAX_NS)
/// (the watchdog is then unchanged).
#[inline]
pub fn arm(timeout_ns: u64) -> Result<(), Status> {
    if timeout_ns == 0 {
        return Err(Status::InvalidArgument);
    }
    // SAFETY: watchdog takes an integer only.
    unsafe { call(request::Watchdog { timeout_ns }) }
}

/// Disarms the watchdog. Never fails.
#[inline]
pub fn disarm() {
    // SAFETY: watchdog takes an integer only; 0 disarms and cannot fail.
    let _ = unsafe { call(request::Watchdog { timeout_ns: 0 }) };
}
