//! A domain's watchdog: a deadline the domain must keep pushing back with
//! the `watchdog` hypercall; once it passes, the domain is taken as hung
//! and the hypervisor stops it (and restarts it, if it is restartable).
//!
//! Pure: deadlines are TSC values the caller computes.

use shared_abi::Status;

pub use shared_abi::hypercall::{
    WATCHDOG_MAX_NS as MAX_TIMEOUT_NS, WATCHDOG_MIN_NS as MIN_TIMEOUT_NS,
};

/// An armed watchdog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watchdog {
    timeout_ns: u64,
    deadline: u64,
}

impl Watchdog {
    /// The watchdog `watchdog(timeout_ns)` asks for, given the TSC `now`
    /// and the TSC ticks of the timeout: `None` disarms (a timeout of 0);
    /// a timeout outside [`MIN_TIMEOUT_NS`]..=[`MAX_TIMEOUT_NS`] is
    /// refused with `INVALID_ARGUMENT`.
    pub fn arm(
        timeout_ns: u64,
        now: u64,
        ticks: impl FnOnce(u64) -> u64,
    ) -> Result<Option<Self>, Status> {
        match timeout_ns {
            0 => Ok(None),
            MIN_TIMEOUT_NS..=MAX_TIMEOUT_NS => Ok(Some(Self {
                timeout_ns,
                deadline: now.saturating_add(ticks(timeout_ns)),
            })),
            _ => Err(Status::InvalidArgument),
        }
    }

    /// The TSC value at which the domain is taken as hung.
    pub fn deadline(&self) -> u64 {
        self.deadline
    }

    /// The timeout the domain asked for, in nanoseconds.
    pub fn timeout_ns(&self) -> u64 {
        self.timeout_ns
    }

    /// Whether the deadline has passed at TSC `now`.
    pub fn expired(&self, now: u64) -> bool {
        now >= self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticks(ns: u64) -> u64 {
        ns * 2
    }

    #[test]
    fn zero_disarms_and_the_range_is_enforced() {
        assert_eq!(Watchdog::arm(0, 100, ticks), Ok(None));
        for bad in [1, MIN_TIMEOUT_NS - 1, MAX_TIMEOUT_NS + 1, u64::MAX, 1 << 63] {
            assert_eq!(Watchdog::arm(bad, 100, ticks), Err(Status::InvalidArgument));
        }
        let armed = Watchdog::arm(MIN_TIMEOUT_NS, 100, ticks).unwrap().unwrap();
        assert_eq!(armed.deadline(), 100 + 2 * MIN_TIMEOUT_NS);
        assert_eq!(armed.timeout_ns(), MIN_TIMEOUT_NS);
        assert!(!armed.expired(100 + 2 * MIN_TIMEOUT_NS - 1));
        assert!(armed.expired(100 + 2 * MIN_TIMEOUT_NS));
    }

    #[test]
    fn a_deadline_near_the_end_of_time_saturates() {
        let armed = Watchdog::arm(MAX_TIMEOUT_NS, u64::MAX - 5, ticks)
            .unwrap()
            .unwrap();
        assert_eq!(armed.deadline(), u64::MAX);
    }
}
