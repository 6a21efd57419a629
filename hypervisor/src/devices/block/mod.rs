//! The block device backend. [`request`] turns a virtqueue descriptor chain
//! in guest memory into a checked virtio-blk request; it is pure and
//! host-tested.

pub mod request;
