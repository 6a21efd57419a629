//! Driving the physical disk from the driver domain: the assigned
//! virtio-blk function found through its configuration space
//! ([`config`]), set up with `virtio_drivers` over the registers and DMA
//! memory of [`hal`], its interrupt line bound to an event port; requests
//! are submitted, then the domain blocks until the line's event, lowers
//! the device's interrupt, tells the hypervisor (`irq_done`) and completes
//! the request once it is in the used ring.

pub mod backend;
pub mod config;
pub mod console;
pub mod console_frontends;
pub mod hal;
pub mod lies;
pub mod liveness;
pub mod ring_view;

use core::sync::atomic::{AtomicBool, Ordering};

use virtio_drivers::device::blk::{BlkReq, BlkResp, RespStatus, VirtIOBlk};
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::pci::bus::{Command, DeviceFunction, PciRoot};

use crate::hv::driver;
use crate::interrupts;
use crate::memory::phys_to_virt;
use config::HypercallConfig;
use hal::DriverHal;

/// virtio's PCI vendor id.
const VIRTIO_VENDOR: u32 = 0x1af4;
/// The virtio-blk device ids: transitional and modern.
const BLOCK_DEVICES: [u32; 2] = [0x1001, 0x1042];
/// Offset of the interrupt-line register's dword.
const INTERRUPT_LINE: u8 = 0x3c;
/// Bytes of a sector.
pub const SECTOR: usize = 512;

/// The function `virtio_drivers` is told about (the hypercalls reach the
/// assigned one whatever it is called).
const FUNCTION: DeviceFunction = DeviceFunction {
    bus: 0,
    device: 0,
    function: 0,
};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn on_interrupt(_port: u32) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Why the disk could not be driven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriverError {
    /// The function is not a virtio-blk device (vendor and device id).
    NotVirtioBlock(u32),
    /// A hypercall was refused.
    Refused(&'static str, shared_abi::Status),
    /// `virtio_drivers` refused the transport or the device.
    Virtio(&'static str),
    /// The function has no interrupt line.
    NoInterruptLine,
    /// A request failed.
    Io,
}

/// The physical disk, driven from this domain.
pub struct Disk {
    device: VirtIOBlk<DriverHal, PciTransport>,
    /// The interrupt line's event port.
    port: u32,
    /// The line.
    line: u8,
    /// A request header and response in the DMA pool.
    request: &'static mut BlkReq,
    response: &'static mut BlkResp,
}

impl core::fmt::Debug for Disk {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Disk {{ line: {}, port: {} }}", self.line, self.port)
    }
}

/// The vendor and device ids of the assigned function, if it is a
/// virtio-blk device.
pub fn find() -> Result<u32, DriverError> {
    let ids = driver::pci_config_read(0).map_err(|s| DriverError::Refused("pci_config_read", s))?;
    match (ids & 0xffff, ids >> 16) {
        (VIRTIO_VENDOR, device) if BLOCK_DEVICES.contains(&device) => Ok(ids),
        _ => Err(DriverError::NotVirtioBlock(ids)),
    }
}

fn in_pool<T>(value: T) -> &'static mut T {
    let gpa = hal::allocate(1).expect("the DMA pool is exhausted");
    let slot = phys_to_virt(gpa).cast::<T>();
    // SAFETY: a fresh page of the pool, mapped, aligned, handed out once.
    unsafe {
        slot.write(value);
        &mut *slot
    }
}

impl Disk {
    /// Sets up the assigned device (virtual interrupts must be set up:
    /// its line is bound to a port here).
    pub fn open() -> Result<Self, DriverError> {
        find()?;
        let mut root = PciRoot::new(HypercallConfig::default());
        root.set_command(FUNCTION, Command::MEMORY_SPACE | Command::BUS_MASTER);
        let transport = PciTransport::new::<DriverHal, _>(&mut root, FUNCTION)
            .map_err(|_| DriverError::Virtio("transport"))?;
        let mut device = VirtIOBlk::new(transport).map_err(|_| DriverError::Virtio("device"))?;
        device.ack_interrupt();
        let register = driver::pci_config_read(INTERRUPT_LINE.into())
            .map_err(|s| DriverError::Refused("pci_config_read", s))?;
        let line = register as u8;
        if !(1..16).contains(&line) {
            return Err(DriverError::NoInterruptLine);
        }
        let port = driver::irq_bind(line).map_err(|s| DriverError::Refused("irq_bind", s))?;
        interrupts::on_port(port, on_interrupt);
        Ok(Self {
            device,
            port,
            line,
            request: in_pool(BlkReq::default()),
            response: in_pool(BlkResp::default()),
        })
    }

    /// The disk's size in sectors.
    pub fn sectors(&self) -> u64 {
        self.device.capacity()
    }

    /// The interrupt line and its port.
    pub fn interrupt(&self) -> (u8, u32) {
        (self.line, self.port)
    }

    /// Waits until request `token` is in the used ring: one event of the
    /// line per wake, the device's interrupt lowered and the line let
    /// through again before looking.
    fn wait(&mut self, token: u16) {
        loop {
            interrupts::wait_for_event(|| INTERRUPTED.load(Ordering::SeqCst));
            INTERRUPTED.store(false, Ordering::SeqCst);
            self.device.ack_interrupt();
            if let Err(status) = driver::irq_done(self.port) {
                panic!("irq_done: {}", status.name());
            }
            if self.device.peek_used() == Some(token) {
                return;
            }
        }
    }

    /// Reads `buffer.len()` bytes (whole sectors; a buffer in the DMA
    /// pool, or within one page) from `sector` on.
    pub fn read(&mut self, sector: u64, buffer: &mut [u8]) -> Result<(), DriverError> {
        // SAFETY: the request, response and buffer stay untouched until
        // the completion below.
        let token = unsafe {
            self.device
                .read_blocks_nb(sector as usize, self.request, buffer, self.response)
        }
        .map_err(|_| DriverError::Io)?;
        self.wait(token);
        // SAFETY: the same buffers as were submitted with `token`.
        unsafe {
            self.device
                .complete_read_blocks(token, self.request, buffer, self.response)
        }
        .map_err(|_| DriverError::Io)?;
        self.status()
    }

    /// Writes `buffer` (whole sectors, as for [`Disk::read`]) from
    /// `sector` on.
    pub fn write(&mut self, sector: u64, buffer: &[u8]) -> Result<(), DriverError> {
        // SAFETY: as for `read`.
        let token = unsafe {
            self.device
                .write_blocks_nb(sector as usize, self.request, buffer, self.response)
        }
        .map_err(|_| DriverError::Io)?;
        self.wait(token);
        // SAFETY: the same buffers as were submitted with `token`.
        unsafe {
            self.device
                .complete_write_blocks(token, self.request, buffer, self.response)
        }
        .map_err(|_| DriverError::Io)?;
        self.status()
    }

    /// Starts a request on `buffer` (a write when `write`) at `sector`
    /// without waiting; returns its token for [`Disk::completed`] and
    /// [`Disk::finish`].
    ///
    /// # Safety
    ///
    /// `request`, `buffer` and `response` (in the DMA pool) must stay
    /// untouched until [`Disk::finish`] with the returned token.
    pub unsafe fn start(
        &mut self,
        write: bool,
        sector: u64,
        request: &mut BlkReq,
        buffer: &mut [u8],
        response: &mut BlkResp,
    ) -> Result<u16, DriverError> {
        // SAFETY: as the caller promised.
        unsafe {
            match write {
                true => self
                    .device
                    .write_blocks_nb(sector as usize, request, buffer, response),
                false => self
                    .device
                    .read_blocks_nb(sector as usize, request, buffer, response),
            }
        }
        .map_err(|_| DriverError::Io)
    }

    /// Completes the request `token` (in the used ring, see
    /// [`Disk::completed`]) started with these buffers.
    ///
    /// # Safety
    ///
    /// The buffers must be those [`Disk::start`] was given for `token`.
    pub unsafe fn finish(
        &mut self,
        write: bool,
        token: u16,
        request: &BlkReq,
        buffer: &mut [u8],
        response: &mut BlkResp,
    ) -> Result<(), DriverError> {
        // SAFETY: as the caller promised.
        unsafe {
            match write {
                true => self
                    .device
                    .complete_write_blocks(token, request, buffer, response),
                false => self
                    .device
                    .complete_read_blocks(token, request, buffer, response),
            }
        }
        .map_err(|_| DriverError::Io)?;
        match response.status() {
            RespStatus::OK => Ok(()),
            _ => Err(DriverError::Io),
        }
    }

    /// The token of the next request the device completed, if any.
    pub fn completed(&mut self) -> Option<u16> {
        self.device.peek_used()
    }

    /// Whether the line interrupted since the last call: if so, the
    /// device's interrupt is lowered and the line let through again.
    pub fn take_interrupt(&mut self) -> bool {
        if !INTERRUPTED.swap(false, Ordering::SeqCst) {
            return false;
        }
        self.device.ack_interrupt();
        if let Err(status) = driver::irq_done(self.port) {
            panic!("irq_done: {}", status.name());
        }
        true
    }

    /// Makes completed writes durable (waits for the device: call it with
    /// no other request in flight).
    pub fn flush(&mut self) -> Result<(), DriverError> {
        self.device.flush().map_err(|_| DriverError::Io)
    }

    fn status(&self) -> Result<(), DriverError> {
        match self.response.status() {
            RespStatus::OK => Ok(()),
            _ => Err(DriverError::Io),
        }
    }
}

/// Whether the line has interrupted since [`Disk::take_interrupt`] last
/// looked.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A request header and response in the DMA pool, for [`Disk::start`].
pub fn request_pair() -> (&'static mut BlkReq, &'static mut BlkResp) {
    (in_pool(BlkReq::default()), in_pool(BlkResp::default()))
}

/// A buffer of `bytes` (whole pages) in the DMA pool.
pub fn buffer(bytes: usize) -> &'static mut [u8] {
    let pages = bytes.div_ceil(4096) as u64;
    let gpa = hal::allocate(pages).expect("the DMA pool is exhausted");
    // SAFETY: fresh pages of the pool, mapped at the physical-memory
    // offset, zeroed, handed out once.
    unsafe { core::slice::from_raw_parts_mut(phys_to_virt(gpa), bytes) }
}
