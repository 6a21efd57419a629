//! Wrappers for the driver domain: the configuration space of the PCI
//! function it was given, its interrupt line as an event port, and the
//! machine addresses of its own pages for the device's DMA. Every other
//! domain is refused each of them with [`Status::Denied`].
//!
//! Order: [`pci_config_read`] to find the device and its BARs (the
//! hypervisor mapped them at their machine addresses before the domain
//! started), [`register_shared_info`](super::events::register_shared_info),
//! then [`irq_bind`] with the line the configuration space names; after
//! each interrupt, acknowledge the device, then [`irq_done`].

use super::call;
use crate::Status;
use crate::hypercall::request;

/// Reads the dword at `offset` of the assigned PCI function's
/// configuration space.
///
/// # Errors
///
/// [`Status::Denied`] when this is not the driver domain;
/// [`Status::NotReady`] when there is no device to drive;
/// [`Status::InvalidArgument`] when `offset` is not a multiple of 4 below
/// 256.
#[inline]
pub fn pci_config_read(offset: u64) -> Result<u32, Status> {
    // SAFETY: the hypervisor checks the offset and reads nothing of ours.
    unsafe { call(request::PciConfigRead { offset }) }
}

/// Writes `value` to the dword at `offset` of the assigned function's
/// configuration space. Only the command register (offset 4) may be
/// written, and of it only the I/O-space, memory-space and bus-master
/// bits (the others, and the status half, are left as they are).
///
/// # Errors
///
/// [`Status::Denied`] when this is not the driver domain, or for any
/// offset but 4 (the BARs stay where the firmware put them);
/// [`Status::NotReady`] when there is no device;
/// [`Status::InvalidArgument`] for an offset not a multiple of 4 below 256.
#[inline]
pub fn pci_config_write(offset: u64, value: u32) -> Result<(), Status> {
    let value = value.into();
    // SAFETY: the hypervisor checks the offset and the bits written.
    unsafe { call(request::PciConfigWrite { offset, value }) }
}

/// Binds the assigned device's legacy interrupt line `irq` (the
/// interrupt-line register, the low byte at configuration offset 0x3c) to
/// a new event port; returns the port. The line starts unmasked; each
/// interrupt masks it and raises the port, until [`irq_done`].
///
/// # Errors
///
/// [`Status::Denied`] when this is not the driver domain or `irq` is not
/// its device's line; [`Status::NotReady`] when there is no device, or
/// before [`register_shared_info`](super::events::register_shared_info);
/// [`Status::AlreadyBound`] when the line has a port already;
/// [`Status::LimitReached`] when no port is free.
#[inline]
pub fn irq_bind(irq: u8) -> Result<u32, Status> {
    // SAFETY: the hypervisor checks the line; no memory is named.
    unsafe { call(request::IrqBind { irq: irq.into() }) }
}

/// Tells the hypervisor that the interrupt raised on `port` was handled
/// (the device acknowledged): the line's next interrupt is let through.
///
/// # Errors
///
/// [`Status::Denied`] when this is not the driver domain;
/// [`Status::BadPort`] when `port` is not bound to an interrupt line.
#[inline]
pub fn irq_done(port: u32) -> Result<(), Status> {
    // SAFETY: no memory is named.
    unsafe { call(request::IrqDone { port: port.into() }) }
}

/// The machine address of this domain's guest-physical address `gpa`:
/// what the device must be given for DMA. A driver domain's memory is
/// machine-contiguous, so a buffer contiguous in guest-physical memory is
/// contiguous for the device too.
///
/// # Errors
///
/// [`Status::Denied`] when this is not the driver domain;
/// [`Status::InvalidArgument`] when `gpa` is outside its memory.
#[inline]
pub fn dma_address(gpa: u64) -> Result<u64, Status> {
    // SAFETY: the hypervisor checks the address; nothing is read or kept.
    unsafe { call(request::DmaAddress { gpa }) }
}
