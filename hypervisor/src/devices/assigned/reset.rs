//! Stopping the assigned virtio device when its driver domain ends.
//!
//! Clearing the function's bus-master bit stops new DMA, but not the
//! requests the device has already taken: their buffers are mapped, and
//! the data lands when each completes. Those buffers are the ended driver
//! domain's frames, about to be freed and handed to someone else. So
//! before they are freed the hypervisor resets the device through virtio's
//! common configuration structure (`device_status` written 0): a virtio
//! device finishes or drops every request it holds before the reset
//! completes, which the hypervisor waits for (the register reads back 0).
//! The device is the one register the hypervisor ever writes, and only
//! here.

use virtio_drivers::transport::pci::bus::{BarInfo, ConfigurationAccess, DeviceFunction, PciRoot};
use volatile::VolatilePtr;

use crate::arch::x86_64::pci::PortConfigurationAccess;
use crate::mm::address::MachineAddr;
use crate::mm::direct_map::machine_ptr;
use crate::mm::kernel_space;

/// Capability id of virtio's vendor-specific structures.
const VENDOR_CAPABILITY: u8 = 0x09;
/// `cfg_type` of virtio's common configuration structure.
const COMMON_CONFIG: u16 = 1;
/// Offset of a virtio capability's `bar` byte.
const CAPABILITY_BAR: u8 = 4;
/// Offset of a virtio capability's `offset` dword.
const CAPABILITY_OFFSET: u8 = 8;
/// Offset of `device_status` in the common configuration structure.
const DEVICE_STATUS: u64 = 0x14;
/// Reads of `device_status` waited for at most before giving up.
const RESET_POLLS: u32 = 1_000_000;

/// The device's `device_status` register, mapped for the hypervisor.
#[derive(Clone, Copy, Debug)]
pub struct StatusRegister(MachineAddr);

impl StatusRegister {
    /// Finds `device_status` of `function` (a modern virtio function: its
    /// common configuration capability in a memory BAR) and maps it
    /// uncached through the direct map. `None` when it has none.
    pub fn find(
        root: &mut PciRoot<PortConfigurationAccess>,
        function: DeviceFunction,
    ) -> Option<Self> {
        let access = PortConfigurationAccess;
        let capability = root.capabilities(function).find(|capability| {
            capability.id == VENDOR_CAPABILITY && capability.private_header >> 8 == COMMON_CONFIG
        })?;
        let bar = access.read_word(function, capability.offset.checked_add(CAPABILITY_BAR)?) as u8;
        let offset = access.read_word(function, capability.offset.checked_add(CAPABILITY_OFFSET)?);
        let Ok(Some(BarInfo::Memory { address, size, .. })) = root.bar_info(function, bar) else {
            return None;
        };
        let at = u64::from(offset).checked_add(DEVICE_STATUS)?;
        if address == 0 || at >= size {
            return None;
        }
        let register = MachineAddr(address.checked_add(at)?);
        kernel_space::map_device(register, 1);
        Some(Self(register))
    }

    fn pointer(self) -> VolatilePtr<'static, u8> {
        let at = core::ptr::NonNull::new(machine_ptr(self.0)).expect("direct-map address");
        // SAFETY: `find` mapped the register uncached through the direct
        // map, where it stays; it is one byte of device memory that no Rust
        // reference covers.
        unsafe { VolatilePtr::new(at) }
    }

    /// Resets the device and waits until it has (every request it held
    /// finished or dropped). Returns whether it did within
    /// [`RESET_POLLS`] reads.
    pub fn reset(self) -> bool {
        let status = self.pointer();
        status.write(0);
        (0..RESET_POLLS).any(|_| status.read() == 0)
    }
}
