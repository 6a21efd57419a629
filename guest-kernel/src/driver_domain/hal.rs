//! What `virtio_drivers` needs in the driver domain: DMA memory from a
//! pool of the domain's own pages, the machine addresses the device must
//! be given for them (`dma_address`), and the device's registers mapped
//! in the domain's page tables.
//!
//! The hypervisor gives a driver domain machine-contiguous memory, so a
//! run of guest-physical pages is a run of machine pages: the pool is one
//! run of frames taken from the frame allocator at start, and a buffer in
//! it is contiguous for the device however long it is. Buffers outside
//! the pool are translated through the page tables, and must not cross a
//! page. The registers (BARs) are at guest-physical address = machine
//! address; they are mapped uncached at [`MMIO_WINDOW`] plus that address.

use core::ptr::NonNull;

use spin::Mutex;
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

use crate::hv::driver;
use crate::memory::paging::{self, MapError, PageFlags, PageSize};
use crate::memory::{frames, phys_to_virt};

/// Where device registers are mapped: this plus their address.
pub const MMIO_WINDOW: u64 = 0x6000_0000_0000;
const PAGE: u64 = 4096;

/// The DMA pool: `[next, end)` of guest-physical memory still free.
static POOL: Mutex<(u64, u64)> = Mutex::new((0, 0));

/// Takes `pages` contiguous frames for the pool. Fails (`false`) if the
/// frame allocator does not hand out a contiguous run.
pub fn init(pages: u64) -> bool {
    let Some(first) = frames::allocate() else {
        return false;
    };
    for index in 1..pages {
        if frames::allocate() != Some(first + index * PAGE) {
            return false;
        }
    }
    *POOL.lock() = (first, first + pages * PAGE);
    true
}

/// `pages` zeroed pages of the pool (guest-physical), for good.
pub fn allocate(pages: u64) -> Option<u64> {
    let mut pool = POOL.lock();
    let (next, end) = *pool;
    let after = next
        .checked_add(pages * PAGE)
        .filter(|after| *after <= end)?;
    pool.0 = after;
    // SAFETY: the pages are the pool's, mapped at the physical-memory
    // offset, handed out once.
    unsafe { core::ptr::write_bytes(phys_to_virt(next), 0, (pages * PAGE) as usize) };
    Some(next)
}

/// The machine address of guest-physical `gpa`.
pub fn machine(gpa: u64) -> u64 {
    driver::dma_address(gpa)
        .unwrap_or_else(|status| panic!("dma_address({gpa:#x}): {}", status.name()))
}

/// The guest-physical address of the byte at `virt`.
fn guest_physical(virt: u64) -> u64 {
    let offset = phys_to_virt(0) as u64;
    let (start, end) = *POOL.lock();
    if (offset + start..offset + end).contains(&virt) {
        return virt - offset;
    }
    let page = paging::translate(paging::current_root(), virt & !(PAGE - 1))
        .unwrap_or_else(|| panic!("DMA buffer at {virt:#x} is not mapped"));
    page + virt % PAGE
}

/// The driver domain's HAL.
#[derive(Debug)]
pub struct DriverHal;

// SAFETY: DMA memory comes from the pool, zeroed, contiguous for the
// device (see the module header) and never reused; shared buffers are
// translated to the machine addresses behind them; registers are mapped
// uncached at a window nothing else uses.
unsafe impl Hal for DriverHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let gpa = allocate(pages as u64).expect("the DMA pool is exhausted");
        let virt = NonNull::new(phys_to_virt(gpa)).expect("the physical mapping is not null");
        (machine(gpa), virt)
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, _vaddr: NonNull<u8>, _pages: usize) -> i32 {
        // The pool is never reused: a device is set up once.
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        let first = paddr & !(PAGE - 1);
        let end = paddr + size as u64;
        let flags = PageFlags::WRITABLE | PageFlags::NO_CACHE | PageFlags::NO_EXECUTE;
        for page in (first..end).step_by(PAGE as usize) {
            let root = paging::current_root();
            match paging::map(root, MMIO_WINDOW + page, page, PageSize::Size4K, flags) {
                Ok(()) | Err(MapError::AlreadyMapped) => {}
                Err(error) => panic!("mapping device registers at {page:#x}: {error:?}"),
            }
        }
        NonNull::new((MMIO_WINDOW + paddr) as *mut u8).expect("the window is not null")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        machine(guest_physical(buffer.as_ptr() as *mut u8 as u64))
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}
