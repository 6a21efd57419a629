//! A range of guest-physical memory checked once and then read and written
//! by offset: a virtqueue's descriptor table or rings, which a backend
//! touches many times per request.
//!
//! A span inside one frame (the usual case: rings are page-aligned) is
//! reached through one pointer found when the span is made; each access
//! then costs a bounds check and one volatile load or store. A span across
//! frames is read and written byte by byte per access.

use core::ptr::NonNull;

use volatile::VolatilePtr;

use super::address::{GuestPhysAddr, PAGE_SIZE};
use super::guest_memory::{self, GuestPhysMemory, OutOfRange, Scalar};

/// Where a [`GuestSpan`] is: kept by a device for a ring it reaches on
/// every request, so that the frame is looked up once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanLocation {
    addr: GuestPhysAddr,
    len: u64,
    /// The hypervisor's address of the span when it lies in one frame.
    mapped: Option<usize>,
}

/// `len` bytes of a domain's memory at `addr`, all inside the domain.
pub struct GuestSpan<'m, M: GuestPhysMemory + ?Sized> {
    memory: &'m M,
    addr: GuestPhysAddr,
    len: u64,
    /// The hypervisor's pointer to `addr` when the span lies in one frame.
    mapped: Option<NonNull<u8>>,
}

impl<'m, M: GuestPhysMemory + ?Sized> GuestSpan<'m, M> {
    /// The span `[addr, addr + len)`, or `None` if any of it lies outside
    /// the domain's memory.
    pub fn new(memory: &'m M, addr: GuestPhysAddr, len: u64) -> Option<Self> {
        let end = addr.as_u64().checked_add(len)?;
        if end > memory.size() {
            return None;
        }
        let in_one_frame = len > 0 && addr.page_offset() + len <= PAGE_SIZE;
        let mapped = in_one_frame
            .then(|| memory.frame_ptr(addr.frame()))
            .flatten()
            .and_then(|page| NonNull::new(page.wrapping_add(addr.page_offset() as usize)));
        Some(Self {
            memory,
            addr,
            len,
            mapped,
        })
    }

    /// Where the span is, to make it again later without looking its frame
    /// up (see [`GuestSpan::at_location`]).
    pub fn location(&self) -> SpanLocation {
        SpanLocation {
            addr: self.addr,
            len: self.len,
            mapped: self.mapped.map(|ptr| ptr.as_ptr() as usize),
        }
    }

    /// The span at `location`, as [`GuestSpan::new`] found it, without
    /// finding its frame again.
    ///
    /// # Safety
    ///
    /// `location` came from a span of this same `memory`, whose
    /// guest-physical frames have stayed where they were since (a domain's
    /// memory never moves while it lives).
    #[inline(always)]
    pub unsafe fn at_location(memory: &'m M, location: SpanLocation) -> Self {
        Self {
            memory,
            addr: location.addr,
            len: location.len,
            mapped: NonNull::new(location.mapped.unwrap_or(0) as *mut u8),
        }
    }

    /// The span's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the span is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The scalar at `offset`, as a volatile pointer when the span is
    /// mapped and the scalar aligned; `Err` when it does not fit the span.
    #[inline(always)]
    fn at<T: Scalar>(&self, offset: u64) -> Result<Option<VolatilePtr<'_, T>>, OutOfRange> {
        let fits = offset
            .checked_add(T::SIZE as u64)
            .is_some_and(|end| end <= self.len);
        if !fits {
            return Err(OutOfRange(GuestPhysAddr(
                self.addr.as_u64().wrapping_add(offset),
            )));
        }
        let aligned = (self.addr.as_u64() + offset).is_multiple_of(T::SIZE as u64);
        Ok(self.mapped.filter(|_| aligned).map(|base| {
            // SAFETY: `base` points at the span, which lies inside one frame
            // of this domain, and `offset + size <= len` keeps the scalar
            // inside it; it is aligned (checked), and the guest may change
            // it at any time, so it is only read or written by value.
            unsafe { VolatilePtr::new(base.add(offset as usize).cast::<T>()) }
        }))
    }

    /// Reads the little-endian scalar at `offset` (inlined: a backend's
    /// ring accesses are its hot path).
    #[inline(always)]
    pub fn read<T: Scalar>(&self, offset: u64) -> Option<T> {
        match self.at::<T>(offset).ok()? {
            Some(value) => Some(value.read().le()),
            None => guest_memory::read_scalar_bytewise(
                self.memory,
                GuestPhysAddr(self.addr.as_u64() + offset),
            ),
        }
    }

    /// Writes `value` as a little-endian scalar at `offset`.
    #[inline(always)]
    pub fn write<T: Scalar>(&self, offset: u64, value: T) -> Result<(), OutOfRange> {
        match self.at::<T>(offset)? {
            Some(at) => {
                at.write(value.le());
                Ok(())
            }
            None => guest_memory::write_scalar_bytewise(
                self.memory,
                GuestPhysAddr(self.addr.as_u64() + offset),
                value,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::guest_memory::fake::FakeGuestMemory;
    use crate::mm::guest_memory::{read_u16, write_u64};

    #[test]
    fn a_span_inside_one_frame_reads_and_writes_by_offset() {
        let memory = FakeGuestMemory::new(4 * 4096);
        write_u64(&memory, GuestPhysAddr(0x1010), 0x1122_3344_5566_7788).unwrap();
        let span = GuestSpan::new(&memory, GuestPhysAddr(0x1000), 64).unwrap();
        assert!(span.mapped.is_some());
        assert_eq!(span.read::<u64>(0x10), Some(0x1122_3344_5566_7788));
        assert_eq!(span.read::<u16>(0x12), Some(0x5566));
        span.write::<u16>(0x20, 0xbeef).unwrap();
        assert_eq!(read_u16(&memory, GuestPhysAddr(0x1020)), Some(0xbeef));
    }

    #[test]
    fn accesses_outside_the_span_are_refused() {
        let memory = FakeGuestMemory::new(4 * 4096);
        let span = GuestSpan::new(&memory, GuestPhysAddr(0x1000), 16).unwrap();
        assert_eq!(span.read::<u64>(8), Some(0));
        assert_eq!(span.read::<u64>(9), None);
        assert_eq!(span.read::<u8>(16), None);
        assert_eq!(span.read::<u64>(u64::MAX - 3), None);
        assert!(span.write::<u32>(13, 1).is_err());
        assert_eq!(memory.contents()[0x1010..0x1014], [0; 4]);
    }

    #[test]
    fn a_span_made_again_from_its_location_reaches_the_same_memory() {
        let memory = FakeGuestMemory::new(4 * 4096);
        let location = GuestSpan::new(&memory, GuestPhysAddr(0x2000), 64)
            .unwrap()
            .location();
        // SAFETY: the location came from this memory, which has not changed.
        let again = unsafe { GuestSpan::at_location(&memory, location) };
        again.write::<u32>(4, 0x1234_5678).unwrap();
        assert_eq!(read_u16(&memory, GuestPhysAddr(0x2004)), Some(0x5678));
        assert_eq!(again.read::<u32>(64), None);
    }

    #[test]
    fn spans_outside_the_domain_are_not_made() {
        let memory = FakeGuestMemory::new(2 * 4096);
        assert!(GuestSpan::new(&memory, GuestPhysAddr(0x1f00), 0x100).is_some());
        assert!(GuestSpan::new(&memory, GuestPhysAddr(0x1f00), 0x101).is_none());
        assert!(GuestSpan::new(&memory, GuestPhysAddr(u64::MAX - 1), 4).is_none());
    }

    #[test]
    fn a_span_across_frames_reads_unaligned_and_split_values() {
        let memory = FakeGuestMemory::new(4 * 4096);
        write_u64(&memory, GuestPhysAddr(0x1ffc), 0x0102_0304_0506_0708).unwrap();
        let span = GuestSpan::new(&memory, GuestPhysAddr(0x1f00), 0x200).unwrap();
        assert!(span.mapped.is_none());
        assert_eq!(span.read::<u64>(0xfc), Some(0x0102_0304_0506_0708));
        span.write::<u32>(0xfe, 0xa0b0_c0d0).unwrap();
        assert_eq!(span.read::<u32>(0xfe), Some(0xa0b0_c0d0));
    }
}
