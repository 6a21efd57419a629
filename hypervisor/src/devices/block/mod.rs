//! The block device backend. [`request`] turns a virtqueue descriptor chain
//! in guest memory into a checked virtio-blk request (pure, host-tested);
//! `disk` drives the physical virtio-blk device QEMU provides.

#[cfg(target_os = "none")]
pub mod disk;
pub mod request;
#[cfg(target_os = "none")]
mod virtio_hal;
