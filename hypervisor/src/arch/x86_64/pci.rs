//! PCI configuration space through the legacy I/O ports (0xcf8/0xcfc), as
//! a `virtio_drivers` configuration access.

use virtio_drivers::transport::pci::bus::{ConfigurationAccess, DeviceFunction};
use x86_64::instructions::port::Port;

const ADDRESS_PORT: u16 = 0xcf8;
const DATA_PORT: u16 = 0xcfc;

/// Configuration access by I/O ports. The hypervisor is the only user and
/// runs with interrupts masked, so the address/data pair is never torn.
#[derive(Clone, Copy, Debug, Default)]
pub struct PortConfigurationAccess;

fn address(function: DeviceFunction, offset: u8) -> u32 {
    1 << 31
        | (function.bus as u32) << 16
        | (function.device as u32) << 11
        | (function.function as u32) << 8
        | (offset as u32 & 0xfc)
}

impl ConfigurationAccess for PortConfigurationAccess {
    fn read_word(&self, function: DeviceFunction, offset: u8) -> u32 {
        let mut select = Port::<u32>::new(ADDRESS_PORT);
        let mut data = Port::<u32>::new(DATA_PORT);
        // SAFETY: the standard configuration mechanism #1 ports.
        unsafe {
            select.write(address(function, offset));
            data.read()
        }
    }

    fn write_word(&mut self, function: DeviceFunction, offset: u8, value: u32) {
        let mut select = Port::<u32>::new(ADDRESS_PORT);
        let mut data = Port::<u32>::new(DATA_PORT);
        // SAFETY: as for read_word.
        unsafe {
            select.write(address(function, offset));
            data.write(value);
        }
    }

    unsafe fn unsafe_clone(&self) -> Self {
        Self
    }
}
