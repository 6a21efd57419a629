//! The device assigned to the driver domain: the physical virtio-blk PCI
//! function, which the hypervisor then does not drive itself.
//!
//! What the driver domain is given, and nothing more: the dword-aligned
//! reads of the function's configuration space and writes of three bits of
//! its command register ([`access`], pure and host-tested), its memory BARs
//! mapped uncached at their machine addresses, its legacy interrupt line as
//! an event port, and the machine addresses of its own memory for DMA
//! (`device` does the machine's side). When the driver domain ends, the
//! device is reset before its memory is freed (`reset`). There is no
//! IOMMU: a driver domain can make the device read or write any machine
//! memory, so it is trusted with DMA, as a Xen driver domain is on a
//! machine without one.

pub mod access;
#[cfg(target_os = "none")]
mod device;
#[cfg(target_os = "none")]
mod reset;

#[cfg(target_os = "none")]
pub use device::{
    Assigned, assigned, claim, config_read, config_write, driver_ended, irq_bind, irq_done,
    release_irq, service,
};
