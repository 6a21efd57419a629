//! Frontends of the split drivers: the guest half of each device, talking
//! to its backend (both in the driver domain: the console server and the
//! block backend) through rings in granted pages and event-channel
//! notifications. Both live in the guest runtime
//! (`shared_abi::guest`); this module keeps their paths in this crate.

pub use shared_abi::guest::{block, console};
