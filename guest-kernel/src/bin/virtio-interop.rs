//! Scenario guest: the `virtio-drivers` crate's own block driver, run over
//! this hypervisor's paravirtual transport (its `Transport` trait
//! implemented with our hypercalls), passes a write, flush and read-back
//! test. The backend speaks virtio, not a private dialect.
#![no_std]
#![no_main]

use core::ptr::NonNull;

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::memory::paging;
use guest_kernel::memory::{frames, phys_to_virt};
use guest_kernel::{check, hv, interrupts, println, scenario};
use shared_abi::event::Virq;
use virtio_drivers::device::blk::VirtIOBlk;
use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};
use zerocopy::{FromBytes, Immutable, IntoBytes};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const VIRTIO_F_VERSION_1: u64 = 1 << 32;

/// DMA from the guest's own frames, addressed guest-physically.
struct GuestHal;

// SAFETY: DMA memory is guest-physically contiguous frames the driver owns
// until dealloc; shared buffers are translated through the guest's own page
// tables and checked to be contiguous.
unsafe impl Hal for GuestHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let first = frames::allocate().expect("no frame for DMA");
        for page in 1..pages as u64 {
            let next = frames::allocate().expect("no frame for DMA");
            assert_eq!(next, first + page * 4096, "DMA frames must be contiguous");
        }
        (first, NonNull::new(phys_to_virt(first)).expect("mapped"))
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, pages: usize) -> i32 {
        for page in 0..pages as u64 {
            frames::free(paddr + page * 4096);
        }
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(phys_to_virt(paddr)).expect("mapped")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        // The driver shares its own small structures (on the stack) as well
        // as the caller's buffers: translate through the guest's tables.
        let virt = buffer.as_ptr() as *mut u8 as u64;
        let len = buffer.len().max(1) as u64;
        let root = paging::current_root();
        let first = paging::translate(root, virt).expect("shared buffer not mapped");
        let last = paging::translate(root, virt + len - 1).expect("shared buffer not mapped");
        assert_eq!(
            last - first,
            len - 1,
            "a shared buffer must be guest-physically contiguous"
        );
        first
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

/// The paravirtual transport: features and configuration answered here,
/// queue registration and notification by hypercall.
struct HypercallTransport {
    status: DeviceStatus,
    config: [u8; 64],
    port: u32,
    queue_set: bool,
}

impl HypercallTransport {
    fn new() -> Self {
        let sectors = hv::devices::block_info();
        let port = hv::events::bind_virq(Virq::Block)
            .unwrap_or_else(|_| scenario::fail(format_args!("bind")));
        let mut config = [0u8; 64];
        config[..8].copy_from_slice(&sectors.to_le_bytes());
        Self {
            status: DeviceStatus::empty(),
            config,
            port,
            queue_set: false,
        }
    }
}

impl Transport for HypercallTransport {
    fn device_type(&self) -> DeviceType {
        DeviceType::Block
    }
    fn read_device_features(&mut self) -> u64 {
        VIRTIO_F_VERSION_1
    }
    fn write_driver_features(&mut self, _driver_features: u64) {}
    fn max_queue_size(&mut self, _queue: u16) -> u32 {
        16
    }
    fn notify(&mut self, _queue: u16) {
        let _ = hv::events::send(self.port);
    }
    fn get_status(&self) -> DeviceStatus {
        self.status
    }
    fn set_status(&mut self, status: DeviceStatus) {
        self.status = status;
    }
    fn set_guest_page_size(&mut self, _guest_page_size: u32) {}
    fn requires_legacy_layout(&self) -> bool {
        false
    }
    fn queue_set(
        &mut self,
        _queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        let size = u16::try_from(size).unwrap_or(0);
        self.queue_set =
            hv::devices::block_queue_setup(descriptors, driver_area, device_area, size).is_ok();
    }
    fn queue_unset(&mut self, _queue: u16) {
        self.queue_set = false;
    }
    fn queue_used(&mut self, _queue: u16) -> bool {
        self.queue_set
    }
    fn ack_interrupt(&mut self) -> InterruptStatus {
        InterruptStatus::empty()
    }
    fn read_config_generation(&self) -> u32 {
        0
    }
    fn read_config_space<T: FromBytes + IntoBytes>(
        &self,
        offset: usize,
    ) -> virtio_drivers::Result<T> {
        let bytes = self
            .config
            .get(offset..offset + core::mem::size_of::<T>())
            .ok_or(virtio_drivers::Error::ConfigSpaceTooSmall)?;
        T::read_from_bytes(bytes).map_err(|_| virtio_drivers::Error::ConfigSpaceTooSmall)
    }
    fn write_config_space<T: IntoBytes + Immutable>(
        &mut self,
        _offset: usize,
        _value: T,
    ) -> virtio_drivers::Result<()> {
        Err(virtio_drivers::Error::Unsupported)
    }
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    interrupts::enable();
    let mut device = VirtIOBlk::<GuestHal, _>::new(HypercallTransport::new())
        .unwrap_or_else(|e| scenario::fail(format_args!("virtio-drivers setup: {e}")));
    let sectors = device.capacity();
    println!("virtio-drivers sees {sectors} sectors");
    let (phys, _) = GuestHal::dma_alloc(2, BufferDirection::Both);
    // SAFETY: the two frames are this guest's, mapped at the physical offset.
    let (out, input) = unsafe {
        (
            core::slice::from_raw_parts_mut(phys_to_virt(phys), 4096),
            core::slice::from_raw_parts_mut(phys_to_virt(phys + 4096), 4096),
        )
    };
    for (sector, seed) in [(0usize, 3u8), (sectors as usize - 8, 9)] {
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = (i as u8).wrapping_mul(7).wrapping_add(seed);
        }
        check!(
            device.write_blocks(sector, out).is_ok(),
            "write at {sector}"
        );
        check!(device.flush().is_ok(), "flush");
        input.fill(0);
        check!(
            device.read_blocks(sector, input).is_ok(),
            "read at {sector}"
        );
        check!(input == out, "sector {sector} reads back what was written");
    }
    println!("write, flush and read back at the first and last sectors passed");
    check!(
        device
            .read_blocks(sectors as usize, &mut input[..512])
            .is_err(),
        "a read beyond the disk fails"
    );
    println!("a read beyond the disk fails");
    scenario::done()
}
