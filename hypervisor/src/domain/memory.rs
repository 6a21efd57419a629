//! A domain's guest-physical memory: machine frames listed in a p2m table,
//! zeroed when allocated and returned when the domain ends, and the
//! foreign frames mapped above it (pages other domains granted, device
//! registers), which the domain may map but the hypervisor never reaches
//! through the domain's addresses.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::mm::address::{GuestFrame, MachineFrame, PAGE_SIZE};
use crate::mm::direct_map::machine_ptr;
use crate::mm::frames;
use crate::mm::guest_memory::GuestPhysMemory;
use crate::mm::shadow::Backing;

/// Guest-physical memory backed by machine frames.
pub struct DomainMemory {
    p2m: Vec<MachineFrame>,
    /// Foreign frames by guest frame number, all above `p2m`.
    foreign: BTreeMap<u64, Backing>,
}

/// Why a foreign frame could not be mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForeignError {
    /// The frame is the domain's own memory.
    InMemory,
    /// Something is mapped there already.
    Occupied,
    /// The domain has ended (its memory is gone).
    Ended,
}

impl DomainMemory {
    /// Allocates `bytes` (a multiple of the page size) of zeroed memory, or
    /// `None` (having freed any partial allocation) if the machine is short.
    pub fn allocate(bytes: u64) -> Option<Self> {
        let mut memory = Self::reserve(bytes)?;
        for _ in 0..bytes / PAGE_SIZE {
            memory.p2m.push(frames::allocate_zeroed()?);
        }
        Some(memory)
    }

    /// Like [`DomainMemory::allocate`], but in one machine-contiguous run
    /// of frames (a driver domain's: a buffer contiguous in its
    /// guest-physical memory is then contiguous for a device's DMA too).
    pub fn allocate_contiguous(bytes: u64) -> Option<Self> {
        let mut memory = Self::reserve(bytes)?;
        let pages = bytes / PAGE_SIZE;
        let first = frames::allocate_contiguous_zeroed(pages)?;
        memory
            .p2m
            .extend((first.number()..first.number() + pages).map(MachineFrame));
        Some(memory)
    }

    /// No memory yet, with room in the p2m table for `bytes` of it.
    fn reserve(bytes: u64) -> Option<Self> {
        let mut memory = Self {
            p2m: Vec::new(),
            foreign: BTreeMap::new(),
        };
        memory
            .p2m
            .try_reserve_exact((bytes / PAGE_SIZE) as usize)
            .ok()?;
        Some(memory)
    }

    /// The machine frame behind guest `frame`.
    #[inline]
    pub fn machine_frame(&self, frame: GuestFrame) -> Option<MachineFrame> {
        self.p2m.get(usize::try_from(frame.number()).ok()?).copied()
    }

    /// What backs guest `frame`: its own memory, or a foreign frame.
    #[inline]
    pub fn backing(&self, frame: GuestFrame) -> Option<Backing> {
        match self.machine_frame(frame) {
            Some(machine) => Some(Backing::ram(machine.start().as_u64())),
            None => self.foreign.get(&frame.number()).copied(),
        }
    }

    /// Maps `backing` at guest `frame`, above the domain's memory. The
    /// domain's shadows need no flush: nothing was mapped there.
    pub(super) fn map_foreign(
        &mut self,
        frame: GuestFrame,
        backing: Backing,
    ) -> Result<(), ForeignError> {
        if self.machine_frame(frame).is_some() {
            return Err(ForeignError::InMemory);
        }
        if self.foreign.contains_key(&frame.number()) {
            return Err(ForeignError::Occupied);
        }
        self.foreign.insert(frame.number(), backing);
        Ok(())
    }

    /// Removes the foreign frame at guest `frame`, returning it. The caller
    /// drops the domain's shadow translations before the frame is reused.
    pub(super) fn unmap_foreign(&mut self, frame: GuestFrame) -> Option<Backing> {
        self.foreign.remove(&frame.number())
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

    #[inline]
    fn is_foreign(&self, frame: GuestFrame) -> bool {
        self.foreign.contains_key(&frame.number())
    }
}

impl Drop for DomainMemory {
    fn drop(&mut self) {
        for frame in self.p2m.drain(..) {
            frames::free(frame);
        }
    }
}
