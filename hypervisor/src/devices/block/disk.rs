//! The physical disk: the first virtio-blk PCI device QEMU provides,
//! driven with `virtio_drivers`. The block backend serves every domain's
//! virtual disk from regions of it. Not probed when the bundle names a
//! driver domain: the device is then that domain's (`super::super::assigned`).
//!
//! A read or write is submitted and then waited for with `hlt`, woken by
//! the device's interrupt, rather than by spinning on the used ring: the
//! host's CPU is not burnt while the disk works, and the instructions a
//! request costs do not depend on how long the host takes (the `--icount`
//! bench counts them). The APIC timer is held for the wait so that its
//! interrupt is neither taken in ring 0 nor its deadline jumped to.

use spin::{Mutex, Once};
use virtio_drivers::device::blk::{BlkReq, BlkResp, RespStatus, VirtIOBlk};
use virtio_drivers::transport::DeviceType;
use virtio_drivers::transport::pci::bus::{Command, ConfigurationAccess, DeviceFunction, PciRoot};
use virtio_drivers::transport::pci::{PciTransport, virtio_device_type};

use super::virtio_hal::HypervisorHal;
use crate::arch::x86_64::pci::PortConfigurationAccess;
use crate::arch::x86_64::{apic, cpu, ioapic};
use crate::devices::assigned::access::INTERRUPT_LINE;

type Device = VirtIOBlk<HypervisorHal, PciTransport>;

/// The device and how its completions are waited for.
struct Disk {
    device: Device,
    /// Its interrupt, routed to [`apic::DISK_VECTOR`] and unmasked only
    /// while a request is waited for; without it completions are polled.
    interrupt: Option<ioapic::OneShot>,
}

static DISK: Once<Mutex<Disk>> = Once::new();

/// The device failed the request or there is no disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoError;

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
    let mut device = match Device::new(transport) {
        Ok(device) => device,
        Err(error) => {
            log::warn!("disk: virtio-blk device unusable: {error}");
            return None;
        }
    };
    device.ack_interrupt();
    let sectors = device.capacity();
    let interrupt =
        interrupt_line(function).map(|line| ioapic::OneShot::route(line, apic::DISK_VECTOR));
    if interrupt.is_none() {
        log::warn!("disk: no interrupt line assigned; completions are polled");
    }
    DISK.call_once(|| Mutex::new(Disk { device, interrupt }));
    Some(sectors)
}

/// Whether the hypervisor drives a disk itself ([`probe`] found one).
pub fn present() -> bool {
    DISK.get().is_some()
}

/// The legacy interrupt line the firmware assigned to `function`, if any.
fn interrupt_line(function: DeviceFunction) -> Option<u8> {
    crate::devices::assigned::access::interrupt_line(
        PortConfigurationAccess.read_word(function, INTERRUPT_LINE),
    )
}

/// Reads `buffer.len()` bytes (a multiple of the sector size) from
/// `sector` on.
pub fn read(sector: u64, buffer: &mut [u8]) -> Result<(), IoError> {
    let (mut request, mut response) = (BlkReq::default(), BlkResp::default());
    with(|disk| {
        disk.transfer(|device, step| match step {
            // SAFETY: `request`, `buffer` and `response` are not touched
            // between the submission and the completion (`transfer` waits
            // for it in between).
            Step::Submit => unsafe {
                device.read_blocks_nb(sector as usize, &mut request, buffer, &mut response)
            },
            // SAFETY: the same buffers as were submitted with `token`.
            Step::Complete(token) => unsafe {
                device
                    .complete_read_blocks(token, &request, buffer, &mut response)
                    .map(|()| token)
            },
        })
    })?;
    ok(response.status())
}

/// Writes `buffer` (a multiple of the sector size) from `sector` on.
pub fn write(sector: u64, buffer: &[u8]) -> Result<(), IoError> {
    let (mut request, mut response) = (BlkReq::default(), BlkResp::default());
    with(|disk| {
        disk.transfer(|device, step| match step {
            // SAFETY: as for `read`.
            Step::Submit => unsafe {
                device.write_blocks_nb(sector as usize, &mut request, buffer, &mut response)
            },
            // SAFETY: the same buffers as were submitted with `token`.
            Step::Complete(token) => unsafe {
                device
                    .complete_write_blocks(token, &request, buffer, &mut response)
                    .map(|()| token)
            },
        })
    })?;
    ok(response.status())
}

/// The two halves of a request given to [`Disk::transfer`].
enum Step {
    Submit,
    Complete(u16),
}

/// Flushes the device's write cache (rare: waited for by polling, with
/// the line masked).
pub fn flush() -> Result<(), IoError> {
    with(|disk| {
        let flushed = disk.device.flush().map_err(|_| IoError);
        // Lower the line: the next request's completion asserts it anew.
        disk.device.ack_interrupt();
        flushed
    })
}

fn ok(status: RespStatus) -> Result<(), IoError> {
    match status {
        RespStatus::OK => Ok(()),
        _ => Err(IoError),
    }
}

fn with(f: impl FnOnce(&mut Disk) -> Result<(), IoError>) -> Result<(), IoError> {
    DISK.get().map_or(Err(IoError), |disk| f(&mut disk.lock()))
}

/// What [`Disk::expect_completion`] set up for [`Disk::wait`].
struct Waiting {
    line: ioapic::OneShot,
    timer: apic::Held,
}

impl Disk {
    /// Submits a request with `op(device, Step::Submit)`, which returns its
    /// token, waits for it, and completes it with `op(device,
    /// Step::Complete(token))`.
    fn transfer(
        &mut self,
        mut op: impl FnMut(&mut Device, Step) -> virtio_drivers::Result<u16>,
    ) -> Result<(), IoError> {
        let waiting = self.expect_completion();
        let token = op(&mut self.device, Step::Submit);
        self.wait(waiting, token.as_ref().ok().copied());
        let token = token.map_err(|_| IoError)?;
        op(&mut self.device, Step::Complete(token)).map_err(|_| IoError)?;
        Ok(())
    }

    /// Readies the wait for a request about to be submitted: the timer is
    /// held and the line let through, so that the request's completion
    /// interrupt is taken (or stays pending) whenever the host finishes it,
    /// even before the submission returns.
    fn expect_completion(&mut self) -> Option<Waiting> {
        let line = self.interrupt?;
        let timer = apic::hold();
        line.unmask();
        Some(Waiting { line, timer })
    }

    /// Returns once the request `token` (`None`: its submission failed) is
    /// in the used ring.
    ///
    /// With an interrupt line, every request costs the same instructions
    /// however long the host takes: exactly one `hlt`, which the
    /// completion's interrupt ends (at once if it is already pending). The
    /// line is level-triggered and masked by its own interrupt, so a wake
    /// for anything else (an interrupt left from before) only lowers the
    /// line and lets it through again: a completion is never missed.
    fn wait(&mut self, waiting: Option<Waiting>, token: Option<u16>) {
        let Some(waiting) = waiting else {
            while token.is_some() && self.device.peek_used() != token {
                core::hint::spin_loop();
            }
            return;
        };
        if token.is_some() {
            loop {
                cpu::wait_for_interrupt();
                if self.device.peek_used() == token {
                    break;
                }
                // Woken by something else: lower the line, look again (the
                // completion may have come between the look and the
                // lowering), and let the line through again.
                self.device.ack_interrupt();
                if self.device.peek_used() == token {
                    break;
                }
                waiting.line.unmask();
            }
        }
        waiting.line.mask();
        // Lower the line: the next request's completion asserts it anew.
        self.device.ack_interrupt();
        apic::release(waiting.timer);
    }
}
