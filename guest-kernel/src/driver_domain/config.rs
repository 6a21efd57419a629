//! The assigned PCI function's configuration space, through the
//! `pci_config_read` and `pci_config_write` hypercalls, as a
//! `virtio_drivers` configuration access.
//!
//! The driver domain sees one function, whatever function number
//! `virtio_drivers` names. It may not write the BARs (the hypervisor
//! mapped them where the firmware put them), so the sizing a BAR read
//! goes through (write all ones, read the mask, restore) is answered
//! here: the refused all-ones write starts it, and the read gets the mask
//! of the smallest power-of-two region (at least a page) that holds every
//! virtio capability structure in that BAR.

use core::cell::Cell;

use shared_abi::Status;
use virtio_drivers::transport::pci::bus::{ConfigurationAccess, DeviceFunction};

use crate::hv::driver;

/// Offset of the first BAR.
const BAR0: u8 = 0x10;
/// Offset past the last BAR.
const BAR_END: u8 = 0x28;
/// Offset of the capabilities pointer.
const CAPABILITIES: u8 = 0x34;
/// Status bit: the function has a capability list.
const HAS_CAPABILITIES: u32 = 1 << 20;
/// Capability id of virtio's vendor-specific structures.
const VENDOR_CAPABILITY: u32 = 0x09;
/// Most capabilities followed (a loop in the list ends there).
const MAX_CAPABILITIES: usize = 48;

/// The function's configuration space by hypercall.
#[derive(Debug, Default)]
pub struct HypercallConfig {
    /// The BAR dword being sized, if one is.
    sizing: Cell<Option<u8>>,
}

impl HypercallConfig {
    /// The dword at `offset`, or all ones if the hypervisor refuses it
    /// (what an absent function reads as).
    pub fn read(&self, offset: u8) -> u32 {
        driver::pci_config_read(offset.into()).unwrap_or(u32::MAX)
    }

    /// The mask a sized BAR dword at `offset` reads as.
    fn size_mask(&self, offset: u8) -> u32 {
        let index = (offset - BAR0) / 4;
        let lower = index
            .checked_sub(1)
            .map(|below| self.read(BAR0 + 4 * below));
        if lower.is_some_and(|bar| bar & 0b111 == 0b100) {
            // The upper half of a 64-bit BAR: regions below 4 GiB.
            return u32::MAX;
        }
        let original = self.read(offset);
        match self.capability_extent(index) {
            0 => 0,
            end => {
                let size = end.next_power_of_two().max(4096);
                !(size as u32).wrapping_sub(1) | original & 0xf
            }
        }
    }

    /// The end of the furthest virtio capability structure in BAR
    /// `index` (0: none there).
    fn capability_extent(&self, index: u8) -> u64 {
        if self.read(4) & HAS_CAPABILITIES == 0 {
            return 0;
        }
        let mut end = 0u64;
        let mut at = self.read(CAPABILITIES) as u8 & 0xfc;
        for _ in 0..MAX_CAPABILITIES {
            if at == 0 {
                break;
            }
            let header = self.read(at);
            if header & 0xff == VENDOR_CAPABILITY
                && self.read(at + 4) as u8 == index
                && let (Some(offset), Some(length)) = (at.checked_add(8), at.checked_add(12))
            {
                let region = u64::from(self.read(offset)) + u64::from(self.read(length));
                end = end.max(region);
            }
            at = (header >> 8) as u8 & 0xfc;
        }
        end
    }
}

impl ConfigurationAccess for HypercallConfig {
    fn read_word(&self, _function: DeviceFunction, offset: u8) -> u32 {
        if self.sizing.get() == Some(offset) {
            return self.size_mask(offset);
        }
        self.read(offset)
    }

    fn write_word(&mut self, _function: DeviceFunction, offset: u8, value: u32) {
        let refused = driver::pci_config_write(offset.into(), value) == Err(Status::Denied);
        let sizes = refused && value == u32::MAX && (BAR0..BAR_END).contains(&offset);
        self.sizing.set(sizes.then_some(offset));
    }

    unsafe fn unsafe_clone(&self) -> Self {
        Self::default()
    }
}
