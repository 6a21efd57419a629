//! How the driver domain shows the hypervisor it is alive: each of its
//! servers (the block backend, the console server) keeps the domain's
//! watchdog fed while it serves, so that one that hangs is stopped and the
//! domain restarted.

/// The watchdog's timeout (virtual time).
pub const WATCHDOG_NS: u64 = 2_000_000_000;
/// Longest time between watchdog feeds (and sleeps).
pub const FEED_NS: u64 = 250_000_000;
