//! Frontends of the split drivers: the guest half of each device, talking
//! to its backend in the hypervisor through rings in shared memory and
//! event-channel notifications. Both live in the guest runtime
//! (`shared_abi::guest`); this module keeps their paths in this crate.

pub use shared_abi::guest::{block, console};
