//! Device backends (the hypervisor halves of split drivers). The console
//! lives in `crate::console`; the block device's request parsing is here.
//! With a driver domain, the physical disk is not driven here but given to
//! that domain ([`assigned`]); the block backend then has no disk.

pub mod assigned;
pub mod block;
