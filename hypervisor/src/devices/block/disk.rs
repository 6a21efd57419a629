//! The physical disk: the first virtio-blk PCI device QEMU provides,
//! driven with `virtio_drivers`. The block backend serves every domain's
//! virtual disk from regions of it.

use spin::{Mutex, Once};
use virtio_drivers::device::blk::VirtIOBlk;
use virtio_drivers::transport::DeviceType;
use virtio_drivers::transport::pci::bus::{Command, PciRoot};
use virtio_drivers::transport::pci::{PciTransport, virtio_device_type};

use super::virtio_hal::HypervisorHal;
use crate::arch::x86_64::pci::PortConfigurationAccess;

type Device = VirtIOBlk<HypervisorHal, PciTransport>;

static DISK: Once<Mutex<Device>> = Once::new();

/// Looks for a virtio-blk device on PCI bus 0 and sets it up. Returns its
/// size in sectors, or `None` if there is none (the hypervisor then runs
/// without a disk).
pub fn probe() -> Option<u64> {
    let mut root = PciRoot::new(PortConfigurationAccess);
    let function = root
        .enumerate_bus(0)
        .find(|(_, info)| virtio_device_type(info) == Some(DeviceType::Block))
        .map(|(function, _)| function)?;
    root.set_command(
        function,
        Command::IO_SPACE | Command::MEMORY_SPACE | Command::BUS_MASTER,
    );
    let transport = match PciTransport::new::<HypervisorHal, _>(&mut root, function) {
        Ok(transport) => transport,
        Err(error) => {
            log::warn!("disk: virtio-blk transport unusable: {error}");
            return None;
        }
    };
    let device = match Device::new(transport) {
        Ok(device) => device,
        Err(error) => {
            log::warn!("disk: virtio-blk device unusable: {error}");
            return None;
        }
    };
    let sectors = device.capacity();
    DISK.call_once(|| Mutex::new(device));
    Some(sectors)
}

/// Runs `f` with the disk, if there is one.
pub fn with<R>(f: impl FnOnce(&mut Device) -> R) -> Option<R> {
    DISK.get().map(|disk| f(&mut disk.lock()))
}
