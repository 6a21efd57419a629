//! The driver domain's calls: `irq_bind`, `irq_done`, `pci_config_read`,
//! `pci_config_write` and `dma_address` (see `crate::devices::assigned`
//! for what the domain is given). Every other domain is refused with
//! `DENIED`; with no device to drive, the device calls answer `NOT_READY`.
//! Each is one configuration-space port access or one I/O APIC register
//! write at most: nothing waits for the device.

use shared_abi::Status;
use shared_abi::hypercall::request::{DmaAddress, IrqBind, IrqDone, PciConfigRead, PciConfigWrite};

use crate::devices::assigned::{self, Assigned, access};
use crate::domain::Domain;
use crate::mm::address::{GuestPhysAddr, PAGE_SIZE};

/// The device of the calling domain, if it is the driver domain.
fn device_of(domain: &Domain) -> Result<&'static Assigned, Status> {
    if !domain.is_driver() {
        return Err(Status::Denied);
    }
    assigned::assigned().ok_or(Status::NotReady)
}

/// `irq_bind(irq)`.
pub(super) fn irq_bind(domain: &mut Domain, IrqBind { irq }: IrqBind) -> Result<u32, Status> {
    let device = device_of(domain)?;
    assigned::irq_bind(device, domain, irq)
}

/// `irq_done(port)`.
pub(super) fn irq_done(domain: &mut Domain, IrqDone { port }: IrqDone) -> Result<(), Status> {
    device_of(domain)?;
    assigned::irq_done(domain, port)
}

/// `pci_config_read(offset)`.
pub(super) fn config_read(
    domain: &mut Domain,
    PciConfigRead { offset }: PciConfigRead,
) -> Result<u32, Status> {
    let device = device_of(domain)?;
    Ok(assigned::config_read(device, access::offset(offset)?))
}

/// `pci_config_write(offset, value)`.
pub(super) fn config_write(
    domain: &mut Domain,
    PciConfigWrite { offset, value }: PciConfigWrite,
) -> Result<(), Status> {
    let device = device_of(domain)?;
    assigned::config_write(device, access::offset(offset)?, value)
}

/// `dma_address(gpa)`: the machine address behind the driver domain's own
/// guest-physical `gpa`.
pub(super) fn dma_address(
    domain: &mut Domain,
    DmaAddress { gpa }: DmaAddress,
) -> Result<u64, Status> {
    if !domain.is_driver() {
        return Err(Status::Denied);
    }
    let memory = domain.memory().ok_or(Status::InvalidArgument)?;
    let frame = memory
        .machine_frame(GuestPhysAddr(gpa).frame())
        .ok_or(Status::InvalidArgument)?;
    Ok(frame.start().as_u64() + gpa % PAGE_SIZE)
}
