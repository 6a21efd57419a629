//! Frontends of the split drivers: the guest half of each device, talking
//! to its backend (the console's in the hypervisor, the block device's in
//! the driver domain) through rings in shared memory and event-channel
//! notifications. Both live in the guest runtime
//! (`shared_abi::guest`); this module keeps their paths in this crate.

pub use shared_abi::guest::{block, console};
