//! A domain's guest-physical memory as the hypervisor reaches it, and the
//! copy helpers built on it.
//!
//! Guest-physical memory is a list of machine frames (the p2m table); it need
//! not be contiguous in machine memory. The hypervisor reaches a guest frame
//! through its own mapping of that machine frame (the direct map on the
//! target, a heap buffer in host tests), never through the guest's mappings.

use core::ptr::NonNull;

use volatile::VolatilePtr;

use super::address::{GuestFrame, GuestPhysAddr, PAGE_SIZE};

/// Access to one domain's guest-physical frames.
pub trait GuestPhysMemory {
    /// Bytes of guest-physical memory, from address 0.
    fn size(&self) -> u64;
    /// The hypervisor's pointer to the 4 KiB `frame`, or `None` if the frame
    /// is outside the domain's memory.
    fn frame_ptr(&self, frame: GuestFrame) -> Option<*mut u8>;
    /// Whether `frame`, outside the domain's memory, is backed by something
    /// else the domain may map with a 4 KiB page (another domain's granted
    /// page, device registers). Such a frame is never reached through
    /// [`frame_ptr`](Self::frame_ptr).
    fn is_foreign(&self, _frame: GuestFrame) -> bool {
        false
    }
}

/// A guest-physical range was outside the domain's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange(pub GuestPhysAddr);

/// Calls `each(ptr, len)` for the page-sized pieces of `[addr, addr + len)`.
fn for_each_piece<M: GuestPhysMemory + ?Sized>(
    memory: &M,
    addr: GuestPhysAddr,
    len: u64,
    mut each: impl FnMut(*mut u8, usize, usize),
) -> Result<(), OutOfRange> {
    let end = addr.checked_add(len).ok_or(OutOfRange(addr))?;
    if end.as_u64() > memory.size() {
        return Err(OutOfRange(addr));
    }
    let mut cursor = addr;
    let mut done = 0usize;
    while cursor < end {
        let in_page = (PAGE_SIZE - cursor.page_offset()).min(end.as_u64() - cursor.as_u64());
        let page = memory.frame_ptr(cursor.frame()).ok_or(OutOfRange(cursor))?;
        // SAFETY (of the pointer arithmetic): page_offset < PAGE_SIZE, so the
        // result stays inside the frame the pointer names.
        let ptr = page.wrapping_add(cursor.page_offset() as usize);
        each(ptr, done, in_page as usize);
        done += in_page as usize;
        cursor = GuestPhysAddr(cursor.as_u64() + in_page);
    }
    Ok(())
}

/// Copies `bytes` into guest-physical memory at `addr`.
pub fn write<M: GuestPhysMemory + ?Sized>(
    memory: &M,
    addr: GuestPhysAddr,
    bytes: &[u8],
) -> Result<(), OutOfRange> {
    for_each_piece(memory, addr, bytes.len() as u64, |ptr, done, len| {
        // SAFETY: `ptr` points at `len` bytes inside a frame of this domain
        // (checked by for_each_piece), and `bytes[done..done + len]` is in bounds.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr().add(done), ptr, len) }
    })
}

/// Copies guest-physical memory at `addr` into `bytes`.
pub fn read<M: GuestPhysMemory + ?Sized>(
    memory: &M,
    addr: GuestPhysAddr,
    bytes: &mut [u8],
) -> Result<(), OutOfRange> {
    for_each_piece(memory, addr, bytes.len() as u64, |ptr, done, len| {
        // SAFETY: as in `write`, with source and destination swapped.
        unsafe { core::ptr::copy_nonoverlapping(ptr, bytes.as_mut_ptr().add(done), len) }
    })
}

/// Zeroes `len` bytes of guest-physical memory at `addr`.
pub fn zero<M: GuestPhysMemory + ?Sized>(
    memory: &M,
    addr: GuestPhysAddr,
    len: u64,
) -> Result<(), OutOfRange> {
    for_each_piece(memory, addr, len, |ptr, _, len| {
        // SAFETY: `ptr` points at `len` bytes inside a frame of this domain.
        unsafe { core::ptr::write_bytes(ptr, 0, len) }
    })
}

/// A little-endian integer the hypervisor reads and writes in guest
/// memory with one access when it is aligned (ring indices, descriptor
/// words, page-table entries, status bytes).
pub trait Scalar: Copy {
    /// Size in bytes (also the alignment of the one-access path).
    const SIZE: usize;
    /// The value from its little-endian bytes.
    fn from_le_slice(bytes: &[u8]) -> Self;
    /// Its little-endian bytes into `out` (of `SIZE` bytes).
    fn to_le_slice(self, out: &mut [u8]);
    /// From and to the little-endian form the memory holds.
    fn le(self) -> Self;
}

macro_rules! scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            const SIZE: usize = core::mem::size_of::<$t>();
            fn from_le_slice(bytes: &[u8]) -> Self {
                let mut raw = [0u8; core::mem::size_of::<$t>()];
                raw.copy_from_slice(bytes);
                <$t>::from_le_bytes(raw)
            }
            fn to_le_slice(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }
            fn le(self) -> Self {
                <$t>::from_le(self)
            }
        }
    )*};
}

scalar!(u8, u16, u32, u64);

/// The aligned scalar at `addr` (never crossing a page, being aligned), as
/// a volatile pointer: the guest owns the memory and may change it at any
/// time.
#[inline]
fn aligned<M: GuestPhysMemory + ?Sized, T: Scalar>(
    memory: &M,
    addr: GuestPhysAddr,
) -> Option<VolatilePtr<'_, T>> {
    if !addr.as_u64().is_multiple_of(T::SIZE as u64) || addr.as_u64() >= memory.size() {
        return None;
    }
    let page = memory.frame_ptr(addr.frame())?;
    let at = NonNull::new(page.wrapping_add(addr.page_offset() as usize).cast::<T>())?;
    // SAFETY: the value is aligned inside one frame of this domain (the
    // frame pointer is valid for the whole 4 KiB page), and it is only
    // read or written by value, never referenced.
    Some(unsafe { VolatilePtr::new(at) })
}

/// The little-endian scalar at `addr` if it is aligned (one load), else
/// `None`, as for an address outside memory: for values that are aligned
/// by construction (page-table entries), so that no copy path is compiled
/// in.
#[inline]
pub fn read_aligned<M: GuestPhysMemory + ?Sized, T: Scalar>(
    memory: &M,
    addr: GuestPhysAddr,
) -> Option<T> {
    aligned::<M, T>(memory, addr).map(|value| value.read().le())
}

/// Writes `value` at `addr` if it is aligned (one store), else does
/// nothing and fails, as for an address outside memory: the counterpart of
/// [`read_aligned`].
#[inline]
pub fn write_aligned<M: GuestPhysMemory + ?Sized, T: Scalar>(
    memory: &M,
    addr: GuestPhysAddr,
    value: T,
) -> Result<(), OutOfRange> {
    let at = aligned::<M, T>(memory, addr).ok_or(OutOfRange(addr))?;
    at.write(value.le());
    Ok(())
}

/// Reads the little-endian scalar at `addr`: one load when it is aligned.
#[inline]
pub fn read_scalar<M: GuestPhysMemory + ?Sized, T: Scalar>(
    memory: &M,
    addr: GuestPhysAddr,
) -> Option<T> {
    if let Some(value) = aligned::<M, T>(memory, addr) {
        return Some(value.read().le());
    }
    read_scalar_bytewise(memory, addr)
}

/// [`read_scalar`] for a scalar that is not aligned (or not in memory):
/// copied out byte by byte, across a frame boundary if need be.
#[cold]
pub fn read_scalar_bytewise<M: GuestPhysMemory + ?Sized, T: Scalar>(
    memory: &M,
    addr: GuestPhysAddr,
) -> Option<T> {
    let mut bytes = [0u8; 8];
    read(memory, addr, &mut bytes[..T::SIZE]).ok()?;
    Some(T::from_le_slice(&bytes[..T::SIZE]))
}

/// Writes `value` as a little-endian scalar at `addr`: one store when it
/// is aligned.
#[inline]
pub fn write_scalar<M: GuestPhysMemory + ?Sized, T: Scalar>(
    memory: &M,
    addr: GuestPhysAddr,
    value: T,
) -> Result<(), OutOfRange> {
    if let Some(at) = aligned::<M, T>(memory, addr) {
        at.write(value.le());
        return Ok(());
    }
    write_scalar_bytewise(memory, addr, value)
}

/// [`write_scalar`] for a scalar that is not aligned (or not in memory).
#[cold]
pub fn write_scalar_bytewise<M: GuestPhysMemory + ?Sized, T: Scalar>(
    memory: &M,
    addr: GuestPhysAddr,
    value: T,
) -> Result<(), OutOfRange> {
    let mut bytes = [0u8; 8];
    value.to_le_slice(&mut bytes[..T::SIZE]);
    write(memory, addr, &bytes[..T::SIZE])
}

/// Reads the little-endian 16-bit value at `addr` (a ring index, say).
#[inline]
pub fn read_u16<M: GuestPhysMemory + ?Sized>(memory: &M, addr: GuestPhysAddr) -> Option<u16> {
    read_scalar(memory, addr)
}

/// Reads the little-endian word at `addr` (a page-table entry, say).
#[inline]
pub fn read_u64<M: GuestPhysMemory + ?Sized>(memory: &M, addr: GuestPhysAddr) -> Option<u64> {
    read_scalar(memory, addr)
}

/// Writes `value` as a little-endian word at `addr`.
#[inline]
pub fn write_u64<M: GuestPhysMemory + ?Sized>(
    memory: &M,
    addr: GuestPhysAddr,
    value: u64,
) -> Result<(), OutOfRange> {
    write_scalar(memory, addr, value)
}

/// Copies the bytes of `value` (padding included, as an untyped copy) to
/// guest-physical memory at `addr`.
pub fn write_value<M: GuestPhysMemory + ?Sized, T>(
    memory: &M,
    addr: GuestPhysAddr,
    value: &T,
) -> Result<(), OutOfRange> {
    let src = value as *const T as *const u8;
    for_each_piece(
        memory,
        addr,
        core::mem::size_of::<T>() as u64,
        |ptr, done, len| {
            // SAFETY: `src` is valid for size_of::<T>() bytes; the copy is untyped,
            // so padding bytes are copied as they are without being read as u8.
            unsafe { core::ptr::copy_nonoverlapping(src.add(done), ptr, len) }
        },
    )
}

#[cfg(test)]
pub mod fake {
    //! Guest memory backed by a heap buffer, for host tests.
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// `size` bytes of zeroed guest memory.
    pub struct FakeGuestMemory {
        pub bytes: core::cell::UnsafeCell<Vec<u8>>,
    }

    impl FakeGuestMemory {
        pub fn new(size: usize) -> Self {
            Self {
                bytes: core::cell::UnsafeCell::new(std::vec![0; size]),
            }
        }
        pub fn contents(&self) -> &[u8] {
            // SAFETY: tests are single-threaded and do not hold frame pointers
            // across this borrow.
            unsafe { &*self.bytes.get() }
        }
    }

    impl GuestPhysMemory for FakeGuestMemory {
        fn size(&self) -> u64 {
            self.contents().len() as u64
        }
        fn frame_ptr(&self, frame: GuestFrame) -> Option<*mut u8> {
            let start = frame.start().as_u64();
            (start < self.size()).then(|| {
                // SAFETY: start is inside the buffer (checked above).
                unsafe { (*self.bytes.get()).as_mut_ptr().add(start as usize) }
            })
        }
    }

    /// Guest page tables in a [`FakeGuestMemory`], new tables taken from
    /// the top of memory downwards.
    pub struct FakeGuestTables<'a> {
        pub memory: &'a FakeGuestMemory,
        pub next: u64,
    }

    impl<'a> FakeGuestTables<'a> {
        /// Tables allocated downwards from the end of `memory`.
        pub fn new(memory: &'a FakeGuestMemory) -> Self {
            Self {
                memory,
                next: memory.size(),
            }
        }
    }

    impl shared_abi::page_table::TableMemory for FakeGuestTables<'_> {
        fn read_entry(&self, table: u64, index: usize) -> u64 {
            read_u64(self.memory, GuestPhysAddr(table + 8 * index as u64)).unwrap()
        }
        fn write_entry(&mut self, table: u64, index: usize, value: u64) {
            write_u64(self.memory, GuestPhysAddr(table + 8 * index as u64), value).unwrap()
        }
        fn alloc_table(&mut self) -> Option<u64> {
            self.next -= PAGE_SIZE;
            Some(self.next)
        }
        fn free_table(&mut self, _: u64) {}
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeGuestMemory;
    use super::*;

    #[test]
    fn copies_across_page_boundaries() {
        let memory = FakeGuestMemory::new(3 * PAGE_SIZE as usize);
        let data: [u8; 10] = core::array::from_fn(|i| i as u8 + 1);
        write(&memory, GuestPhysAddr(PAGE_SIZE - 4), &data).unwrap();
        let mut back = [0u8; 10];
        read(&memory, GuestPhysAddr(PAGE_SIZE - 4), &mut back).unwrap();
        assert_eq!(back, data);
        zero(&memory, GuestPhysAddr(PAGE_SIZE - 2), 4).unwrap();
        assert_eq!(
            &memory.contents()[PAGE_SIZE as usize - 4..PAGE_SIZE as usize + 4],
            &[1, 2, 0, 0, 0, 0, 7, 8]
        );
    }

    #[test]
    fn refuses_ranges_outside_memory() {
        let memory = FakeGuestMemory::new(PAGE_SIZE as usize);
        assert!(write(&memory, GuestPhysAddr(PAGE_SIZE - 1), &[1, 2]).is_err());
        assert!(zero(&memory, GuestPhysAddr(u64::MAX), 2).is_err());
        assert!(read(&memory, GuestPhysAddr(0), &mut [0; 4096]).is_ok());
    }

    #[test]
    fn aligned_accesses_refuse_what_is_not_aligned() {
        let memory = FakeGuestMemory::new(PAGE_SIZE as usize);
        let at = GuestPhysAddr(PAGE_SIZE - 8);
        assert_eq!(write_aligned(&memory, at, 0x1122_3344_5566_7788u64), Ok(()));
        assert_eq!(
            read_aligned::<_, u64>(&memory, at),
            Some(0x1122_3344_5566_7788)
        );
        assert_eq!(read_u64(&memory, at), Some(0x1122_3344_5566_7788));
        let unaligned = GuestPhysAddr(PAGE_SIZE - 12);
        assert_eq!(read_aligned::<_, u64>(&memory, unaligned), None);
        assert!(write_aligned(&memory, unaligned, 0u64).is_err());
        assert_eq!(
            read_aligned::<_, u64>(&memory, GuestPhysAddr(PAGE_SIZE)),
            None
        );
        assert_eq!(read_u64(&memory, at), Some(0x1122_3344_5566_7788));
    }
}
