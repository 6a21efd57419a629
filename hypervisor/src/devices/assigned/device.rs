//! The assigned function on the machine: found and sized once at boot
//! ([`claim`]), its BARs mapped into the driver domain, its configuration
//! space reached through the legacy ports, its interrupt line routed
//! through the I/O APIC to the disk vector as a one-shot line: each
//! interrupt masks it ([`ioapic::interrupted`]) and raises the driver
//! domain's port at the next scheduling point ([`service`]); `irq_done`
//! lets the next one through. Nothing here waits for the device.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use shared_abi::Status;
use spin::{Mutex, Once};
use virtio_drivers::transport::DeviceType;
use virtio_drivers::transport::pci::bus::{
    BarInfo, ConfigurationAccess, DeviceFunction, MemoryBarType, PciRoot,
};
use virtio_drivers::transport::pci::virtio_device_type;

use super::access::{self, COMMAND, COMMAND_WRITABLE, INTERRUPT_LINE};
use super::reset::StatusRegister;
use crate::arch::x86_64::pci::PortConfigurationAccess;
use crate::arch::x86_64::{apic, ioapic};
use crate::domain::Domain;
use crate::domain::table::DomainTable;
use crate::mm::address::{MachineAddr, PAGE_SIZE};
use crate::mm::guest_memory::GuestPhysMemory;
use crate::mm::shadow::Backing;

/// BARs a PCI function has.
const BARS: u8 = 6;

/// The assigned PCI function.
#[derive(Debug)]
pub struct Assigned {
    function: DeviceFunction,
    /// Its legacy interrupt line, if the firmware gave it one.
    line: Option<u8>,
    /// Its memory BARs: (machine address, bytes).
    bars: Vec<(u64, u64)>,
    /// Its virtio `device_status` register, to reset it when its driver
    /// domain ends.
    status: Option<StatusRegister>,
}

static ASSIGNED: Once<Assigned> = Once::new();

/// The bound interrupt line, while the driver domain has it bound.
static BOUND: Mutex<Option<ioapic::OneShot>> = Mutex::new(None);

/// Finds the first virtio-blk function on PCI bus 0 and keeps it for the
/// driver domain (the hypervisor does not drive it then). `None` when
/// there is none.
pub fn claim() -> Option<&'static Assigned> {
    let mut root = PciRoot::new(PortConfigurationAccess);
    let function = root
        .enumerate_bus(0)
        .find(|(_, info)| virtio_device_type(info) == Some(DeviceType::Block))
        .map(|(function, _)| function)?;
    let mut bars = Vec::new();
    let mut index = 0;
    while index < BARS {
        if let Ok(Some(BarInfo::Memory {
            address_type,
            address,
            size,
            ..
        })) = root.bar_info(function, index)
        {
            if address != 0 && size != 0 {
                bars.push((address, size));
            }
            if address_type == MemoryBarType::Width64 {
                index += 1;
            }
        }
        index += 1;
    }
    let line = access::interrupt_line(PortConfigurationAccess.read_word(function, INTERRUPT_LINE));
    let status = StatusRegister::find(&mut root, function);
    if status.is_none() {
        log::warn!("driver: the virtio-blk function has no common configuration to reset it by");
    }
    Some(ASSIGNED.call_once(|| Assigned {
        function,
        line,
        bars,
        status,
    }))
}

/// The assigned function, once [`claim`] found one.
pub fn assigned() -> Option<&'static Assigned> {
    ASSIGNED.get()
}

impl Assigned {
    /// A line for the boot log: where the function is and what it has.
    pub fn describe(&self) -> String {
        let f = self.function;
        let mut text = format!(
            "{:02x}:{:02x}.{} line {}",
            f.bus,
            f.device,
            f.function,
            self.line.map_or(-1, i32::from)
        );
        for (address, size) in &self.bars {
            text.push_str(&format!(", BAR {address:#x} ({size:#x} bytes)"));
        }
        text
    }

    /// Maps the memory BARs into `domain` at their machine addresses,
    /// uncached, whole pages (a BAR smaller than a page is left out: the
    /// rest of its page may be another device's). Refused, naming the BAR,
    /// when one would overlap the domain's memory.
    pub fn map_bars(&self, domain: &mut Domain) -> Result<(), String> {
        let memory = domain.memory().map_or(0, |memory| memory.size());
        for &(address, size) in &self.bars {
            if access::overlaps_memory(address, memory) {
                return Err(format!(
                    "device BAR at {address:#x} overlaps its memory ({} MiB)",
                    memory >> 20
                ));
            }
            if size < PAGE_SIZE
                || !address.is_multiple_of(PAGE_SIZE)
                || address.checked_add(size).is_none()
            {
                log::warn!(
                    "driver: BAR at {address:#x} ({size:#x} bytes) is not whole pages; not mapped"
                );
                continue;
            }
            for offset in (0..size).step_by(PAGE_SIZE as usize) {
                let machine = MachineAddr(address + offset);
                let frame = crate::mm::address::GuestPhysAddr(machine.as_u64()).frame();
                domain
                    .map_foreign(frame, Backing::device(machine.as_u64()))
                    .map_err(|error| format!("device BAR page {machine:?}: {error:?}"))?;
            }
        }
        Ok(())
    }
}

/// The dword at `offset` (checked by [`access::offset`]).
pub fn config_read(device: &Assigned, offset: u8) -> u32 {
    PortConfigurationAccess.read_word(device.function, offset)
}

/// Writes `value` at `offset` as [`access::write`] permits.
pub fn config_write(device: &Assigned, offset: u8, value: u64) -> Result<(), Status> {
    let current = PortConfigurationAccess.read_word(device.function, COMMAND);
    let dword = access::write(offset, value, current)?;
    PortConfigurationAccess.write_word(device.function, COMMAND, dword);
    Ok(())
}

/// `irq_bind(irq)` for the driver domain: `irq` must be the device's line.
pub fn irq_bind(device: &Assigned, domain: &mut Domain, irq: u64) -> Result<u32, Status> {
    let line = device.line.ok_or(Status::Denied)?;
    if irq != u64::from(line) {
        return Err(Status::Denied);
    }
    if domain.shared().is_none() {
        return Err(Status::NotReady);
    }
    let port = domain.ports_mut().bind_irq(line)?;
    let one_shot = ioapic::OneShot::route(line, apic::DISK_VECTOR);
    one_shot.unmask();
    *BOUND.lock() = Some(one_shot);
    Ok(port)
}

/// `irq_done(port)`: `port` must be the caller's interrupt port.
pub fn irq_done(domain: &Domain, port: u64) -> Result<(), Status> {
    match domain.ports().irq_port() {
        Some(bound) if u64::from(bound) == port => {
            if let Some(line) = *BOUND.lock() {
                line.unmask();
            }
            Ok(())
        }
        _ => Err(Status::BadPort),
    }
}

/// The interrupt port was closed: the line is masked for good.
pub fn release_irq() {
    if let Some(line) = BOUND.lock().take() {
        line.mask();
    }
}

/// The driver domain ended: its line is masked, the device is reset
/// (the requests it held finish before the domain's memory is freed, see
/// [`reset`](super::reset)) and stops decoding and mastering the bus.
pub fn driver_ended() {
    release_irq();
    if let Some(device) = assigned() {
        match device.status.map(StatusRegister::reset) {
            Some(true) => log::debug!("driver: the virtio-blk device is reset"),
            Some(false) => log::warn!("driver: the virtio-blk device did not finish its reset"),
            None => {}
        }
        let current = PortConfigurationAccess.read_word(device.function, COMMAND);
        let stopped = current & 0xffff & !COMMAND_WRITABLE;
        PortConfigurationAccess.write_word(device.function, COMMAND, stopped);
    }
}

/// Raises the driver domain's interrupt port if its line interrupted
/// (called at scheduling points and while idling). Returns the driver
/// domain's index if that made it runnable: the scheduler then runs it at
/// once, so that a device's latency is not a time slice of whoever else
/// runs (the line stays masked until `irq_done`, so this happens once per
/// interrupt the domain handles).
pub fn service(table: &mut DomainTable) -> Option<usize> {
    if !ioapic::take_interrupted() {
        return None;
    }
    let index = table
        .iter()
        .position(|domain| domain.is_driver() && domain.is_alive())?;
    let driver = table.at_mut(index);
    let port = driver.ports().irq_port()?;
    driver.raise(port);
    driver.is_runnable().then_some(index)
}
