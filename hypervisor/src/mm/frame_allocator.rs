//! The machine frame allocator: a bitmap over every frame below a fixed
//! ceiling, one bit per 4 KiB frame (set = in use).
//!
//! At boot every frame starts used; the memory map's RAM ranges are freed,
//! then the hypervisor image, the boot module and low memory are reserved
//! again. Allocation searches from a rotating cursor, so repeated
//! allocations are cheap, and contiguous runs can be requested for the few
//! users that need them. The logic is pure and host-tested; the global
//! instance lives in [`crate::mm::frames`].

use super::address::{MachineFrame, PAGE_SIZE};

/// A bitmap frame allocator over caller-provided storage.
pub struct FrameAllocator<'a> {
    bits: &'a mut [u64],
    cursor: usize,
    free: u64,
}

impl<'a> FrameAllocator<'a> {
    /// An allocator for `bits.len() * 64` frames, all initially in use.
    pub fn new(bits: &'a mut [u64]) -> Self {
        bits.fill(u64::MAX);
        Self {
            bits,
            cursor: 0,
            free: 0,
        }
    }

    /// Number of frames the bitmap can describe.
    pub fn capacity(&self) -> u64 {
        self.bits.len() as u64 * 64
    }

    /// Frames currently free.
    pub fn free_frames(&self) -> u64 {
        self.free
    }

    /// Marks the frames wholly inside `[start, end)` (machine byte addresses)
    /// free. Frames beyond the capacity are ignored.
    pub fn add_free_range(&mut self, start: u64, end: u64) {
        let first = start.div_ceil(PAGE_SIZE);
        let last = (end / PAGE_SIZE).min(self.capacity());
        for frame in first..last {
            if self.is_used(frame) {
                self.set(frame, false);
                self.free += 1;
            }
        }
    }

    /// Marks every frame touching `[start, end)` used.
    pub fn reserve_range(&mut self, start: u64, end: u64) {
        let first = start / PAGE_SIZE;
        let last = end.div_ceil(PAGE_SIZE).min(self.capacity());
        for frame in first..last {
            if !self.is_used(frame) {
                self.set(frame, true);
                self.free -= 1;
            }
        }
    }

    /// Allocates one frame.
    pub fn allocate(&mut self) -> Option<MachineFrame> {
        let words = self.bits.len();
        for step in 0..words {
            let word = (self.cursor + step) % words;
            let bits = self.bits[word];
            if bits != u64::MAX {
                let bit = (!bits).trailing_zeros() as usize;
                let frame = (word * 64 + bit) as u64;
                self.set(frame, true);
                self.free -= 1;
                self.cursor = word;
                return Some(MachineFrame(frame));
            }
        }
        None
    }

    /// Allocates `count` physically contiguous frames, the first aligned to
    /// `align_frames` (a power of two).
    pub fn allocate_contiguous(&mut self, count: u64, align_frames: u64) -> Option<MachineFrame> {
        if count == 0 || !align_frames.is_power_of_two() {
            return None;
        }
        let mut start = 0;
        while start + count <= self.capacity() {
            match (start..start + count).find(|&frame| self.is_used(frame)) {
                Some(used) => start = (used + 1).next_multiple_of(align_frames),
                None => {
                    for frame in start..start + count {
                        self.set(frame, true);
                    }
                    self.free -= count;
                    return Some(MachineFrame(start));
                }
            }
        }
        None
    }

    /// Returns a frame. Freeing a frame that is already free is ignored
    /// (and reported by the caller's debug assertion), never double-counted.
    pub fn deallocate(&mut self, frame: MachineFrame) -> bool {
        let number = frame.number();
        if number >= self.capacity() || !self.is_used(number) {
            return false;
        }
        self.set(number, false);
        self.free += 1;
        true
    }

    fn is_used(&self, frame: u64) -> bool {
        self.bits[(frame / 64) as usize] & (1 << (frame % 64)) != 0
    }

    fn set(&mut self, frame: u64, used: bool) {
        let word = &mut self.bits[(frame / 64) as usize];
        if used {
            *word |= 1 << (frame % 64);
        } else {
            *word &= !(1 << (frame % 64));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frees_only_whole_frames_and_honours_reservations() {
        let mut bits = [0u64; 4];
        let mut frames = FrameAllocator::new(&mut bits);
        frames.add_free_range(0x800, 0x5800); // frames 1..5
        assert_eq!(frames.free_frames(), 4);
        frames.reserve_range(0x2000, 0x2001); // frame 2
        assert_eq!(frames.free_frames(), 3);
        let mut got = [0; 3];
        for slot in got.iter_mut() {
            *slot = frames.allocate().unwrap().number();
        }
        got.sort();
        assert_eq!(got, [1, 3, 4]);
        assert_eq!(frames.allocate(), None);
    }

    #[test]
    fn contiguous_runs_skip_holes_and_respect_alignment() {
        let mut bits = [0u64; 4];
        let mut frames = FrameAllocator::new(&mut bits);
        frames.add_free_range(0, 256 * PAGE_SIZE);
        frames.reserve_range(5 * PAGE_SIZE, 6 * PAGE_SIZE);
        let run = frames.allocate_contiguous(8, 4).unwrap();
        assert_eq!(run.number(), 8);
        assert_eq!(frames.free_frames(), 256 - 1 - 8);
        assert!(frames.allocate_contiguous(1000, 1).is_none());
    }

    #[test]
    fn double_free_is_refused() {
        let mut bits = [0u64; 1];
        let mut frames = FrameAllocator::new(&mut bits);
        frames.add_free_range(0, 64 * PAGE_SIZE);
        let frame = frames.allocate().unwrap();
        assert!(frames.deallocate(frame));
        assert!(!frames.deallocate(frame));
        assert!(!frames.deallocate(MachineFrame(1 << 40)));
        assert_eq!(frames.free_frames(), 64);
    }

    #[test]
    fn ranges_beyond_capacity_are_ignored() {
        let mut bits = [0u64; 1];
        let mut frames = FrameAllocator::new(&mut bits);
        frames.add_free_range(0, 1 << 40);
        assert_eq!(frames.free_frames(), 64);
    }
}
