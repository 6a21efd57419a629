//! A domain's guest-physical memory: machine frames listed in a p2m table,
//! zeroed when allocated and returned when the domain ends.

use alloc::vec::Vec;

use crate::mm::address::{GuestFrame, MachineFrame, PAGE_SIZE};
use crate::mm::direct_map::machine_ptr;
use crate::mm::frames;
use crate::mm::guest_memory::GuestPhysMemory;

/// Guest-physical memory backed by machine frames.
pub struct DomainMemory {
    p2m: Vec<MachineFrame>,
}

impl DomainMemory {
    /// Allocates `bytes` (a multiple of the page size) of zeroed memory, or
    /// `None` (having freed any partial allocation) if the machine is short.
    pub fn allocate(bytes: u64) -> Option<Self> {
        let pages = (bytes / PAGE_SIZE) as usize;
        let mut memory = Self { p2m: Vec::new() };
        memory.p2m.try_reserve_exact(pages).ok()?;
        for _ in 0..pages {
            memory.p2m.push(frames::allocate_zeroed()?);
        }
        Some(memory)
    }

    /// The machine frame behind guest `frame`.
    #[inline]
    pub fn machine_frame(&self, frame: GuestFrame) -> Option<MachineFrame> {
        self.p2m.get(usize::try_from(frame.number()).ok()?).copied()
    }
}

impl GuestPhysMemory for DomainMemory {
    #[inline]
    fn size(&self) -> u64 {
        self.p2m.len() as u64 * PAGE_SIZE
    }

    #[inline]
    fn frame_ptr(&self, frame: GuestFrame) -> Option<*mut u8> {
        self.machine_frame(frame)
            .map(|machine| machine_ptr(machine.start()))
    }
}

impl Drop for DomainMemory {
    fn drop(&mut self) {
        for frame in self.p2m.drain(..) {
            frames::free(frame);
        }
    }
}
