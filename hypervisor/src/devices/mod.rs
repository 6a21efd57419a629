//! Device backends (the hypervisor halves of split drivers). The console
//! lives in `crate::console`; the block device's request parsing is here.

pub mod assigned;
pub mod block;
