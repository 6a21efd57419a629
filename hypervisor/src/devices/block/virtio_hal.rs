//! What `virtio_drivers` needs from the hypervisor: DMA memory from the
//! frame allocator, reached through the direct map, and the machine address
//! of buffers it shares with the device.

use core::ptr::NonNull;

use virtio_drivers::{BufferDirection, Hal, PhysAddr};

use crate::mm::address::{MachineAddr, PAGE_SIZE};
use crate::mm::direct_map::{DIRECT_MAP_BASE, machine_ptr};
use crate::mm::frames;
use crate::mm::kernel_space::{self, KERNEL_VMA};

/// The hypervisor's DMA and address translation for virtio devices.
#[derive(Debug)]
pub struct HypervisorHal;

// SAFETY: DMA buffers are physically contiguous, zeroed frames owned by the
// driver until dealloc; translations follow the direct map and the kernel
// image mapping exactly.
unsafe impl Hal for HypervisorHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let frame = frames::allocate_contiguous(pages as u64).expect("no memory for virtio DMA");
        let pointer = machine_ptr(frame.start());
        // SAFETY: the frames were just allocated and are reachable through
        // the direct map.
        unsafe { core::ptr::write_bytes(pointer, 0, pages * PAGE_SIZE as usize) };
        (
            frame.start().as_u64(),
            NonNull::new(pointer).expect("the direct map is never null"),
        )
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, pages: usize) -> i32 {
        for page in 0..pages as u64 {
            frames::free(MachineAddr(paddr + page * PAGE_SIZE).frame());
        }
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        kernel_space::map_device(MachineAddr(paddr), size as u64);
        NonNull::new(machine_ptr(MachineAddr(paddr))).expect("the direct map is never null")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        let virt = buffer.as_ptr() as *mut u8 as u64;
        if virt >= KERNEL_VMA {
            virt - KERNEL_VMA
        } else {
            virt - DIRECT_MAP_BASE
        }
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}
