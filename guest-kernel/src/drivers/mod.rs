//! Frontends of the split drivers: the guest half of each device, talking
//! to its backend in the hypervisor through rings in shared memory and
//! event-channel notifications.

pub mod block;
pub mod console;
