//! Reading one virtio-blk request out of a split virtqueue, without
//! trusting anything the guest wrote.
//!
//! Every descriptor is copied out of guest memory once and then checked:
//! its index is inside the queue, the chain neither loops nor exceeds
//! [`MAX_CHAIN`], every buffer lies inside the domain's memory, and the
//! buffers are in the order and direction virtio-blk requires (a readable
//! header, data in the direction of the request, a writable status byte).
//! Indirect descriptors are not offered and so are refused.

use shared_abi::virtqueue::{
    BLOCK_ID_BYTES, BlockRequestHeader, BlockRequestType, DESC_F_INDIRECT, DESC_F_NEXT,
    DESC_F_WRITE, Descriptor, SECTOR_SIZE,
};

use core::mem::MaybeUninit;

use crate::mm::address::GuestPhysAddr;
use crate::mm::guest_memory::{self, GuestPhysMemory, OutOfRange};
use crate::mm::guest_span::GuestSpan;

/// Longest chain accepted (header, up to 62 data buffers, status).
pub const MAX_CHAIN: usize = 64;

/// A data buffer of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Where it is in guest-physical memory.
    pub addr: GuestPhysAddr,
    /// Its length.
    pub len: u32,
}

/// A checked request, borrowing the chain it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRequest<'a> {
    /// Head descriptor (what the used ring reports).
    pub head: u16,
    /// What to do.
    pub kind: BlockRequestType,
    /// First sector (reads and writes).
    pub sector: u64,
    /// The data descriptors, in order (checked: direction, inside memory).
    data: &'a [Descriptor],
    /// Total data bytes.
    pub data_len: u64,
    /// Where the status byte goes.
    pub status: GuestPhysAddr,
}

impl BlockRequest<'_> {
    /// The data buffers, in order.
    pub fn data(&self) -> impl ExactSizeIterator<Item = Segment> + '_ {
        self.data.iter().map(|descriptor| Segment {
            addr: GuestPhysAddr(descriptor.addr),
            len: descriptor.len,
        })
    }

    /// The data buffer, if there is exactly one.
    pub fn single_segment(&self) -> Option<Segment> {
        match self.data {
            [_] => self.data().next(),
            _ => None,
        }
    }

    /// Copies what the device produced (sectors read, the device id) into
    /// the data buffers, in order, each filled at most to its length: the
    /// device never writes a byte the guest did not offer. Returns the bytes
    /// copied (fewer than `bytes` when the buffers are shorter).
    pub fn fill_data<M: GuestPhysMemory + ?Sized>(
        &self,
        memory: &M,
        bytes: &[u8],
    ) -> Result<u32, OutOfRange> {
        let mut done = 0;
        for segment in self.data() {
            let take = (segment.len as usize).min(bytes.len() - done);
            guest_memory::write(memory, segment.addr, &bytes[done..done + take])?;
            done += take;
        }
        Ok(done as u32)
    }
}

/// Why a chain was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainError {
    /// A descriptor index is not inside the queue.
    IndexOutOfRange(u16),
    /// The chain is longer than the queue or [`MAX_CHAIN`] (a loop, or abuse).
    TooLong,
    /// A buffer lies (partly) outside the domain's memory, or the
    /// descriptor table does.
    OutsideMemory,
    /// An indirect descriptor (not offered).
    Indirect,
    /// The request is not shaped as virtio-blk requires.
    Malformed(&'static str),
    /// The request type is unknown (answered with UNSUPP if the status
    /// byte is usable).
    Unsupported(u32),
}

/// Room for one chain's descriptors, copied out of guest memory. The
/// storage is not initialised up front (a request touches only the few
/// descriptors its chain has).
pub struct Chain {
    descriptors: [MaybeUninit<Descriptor>; MAX_CHAIN],
    len: usize,
}

impl Chain {
    /// An empty chain.
    pub const fn new() -> Self {
        Self {
            descriptors: [MaybeUninit::uninit(); MAX_CHAIN],
            len: 0,
        }
    }

    /// The descriptors read so far.
    pub fn as_slice(&self) -> &[Descriptor] {
        // SAFETY: the first `len` slots were written by `push` and
        // MaybeUninit<Descriptor> has Descriptor's layout.
        unsafe { core::slice::from_raw_parts(self.descriptors.as_ptr().cast(), self.len) }
    }

    fn push(&mut self, descriptor: Descriptor) {
        self.descriptors[self.len] = MaybeUninit::new(descriptor);
        self.len += 1;
    }
}

impl Default for Chain {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads and checks the request whose chain starts at `head` in the
/// descriptor `table` (a queue of `size` entries, the span covering all of
/// them), in one pass; `chain` keeps its data descriptors.
///
/// What makes the chain unreadable (an index outside the queue, a loop, a
/// buffer outside memory, an indirect descriptor) is found first; then
/// whether it has the shape of a virtio-blk request.
#[inline]
pub fn read_request<'c, M: GuestPhysMemory + ?Sized>(
    memory: &M,
    table: &GuestSpan<'_, M>,
    size: u16,
    head: u16,
    chain: &'c mut Chain,
) -> Result<BlockRequest<'c>, ChainError> {
    chain.len = 0;
    let mut index = head;
    let mut header = None;
    let mut status = None;
    let mut writable_data = 0usize;
    let mut data_len = 0u64;
    let limit = MAX_CHAIN.min(size as usize);
    for _ in 0..limit {
        if index >= size {
            return Err(ChainError::IndexOutOfRange(index));
        }
        let descriptor = read_descriptor(table, index).ok_or(ChainError::OutsideMemory)?;
        if descriptor.flags & DESC_F_INDIRECT != 0 {
            return Err(ChainError::Indirect);
        }
        let inside = descriptor
            .addr
            .checked_add(descriptor.len as u64)
            .is_some_and(|end| end <= memory.size());
        if !inside {
            return Err(ChainError::OutsideMemory);
        }
        let last = descriptor.flags & DESC_F_NEXT == 0;
        if header.is_none() {
            header = Some(descriptor);
            if last {
                break;
            }
        } else if last {
            status = Some(descriptor);
            break;
        } else {
            writable_data += usize::from(descriptor.flags & DESC_F_WRITE != 0);
            data_len += descriptor.len as u64;
            chain.push(descriptor);
        }
        index = descriptor.next;
    }
    let Some(first) = header else {
        return Err(ChainError::TooLong);
    };
    let Some(last) = status else {
        // A chain that ended after its header, or never ended.
        return Err(if first.flags & DESC_F_NEXT == 0 {
            ChainError::Malformed("a request needs a header and a status byte")
        } else {
            ChainError::TooLong
        });
    };
    if first.flags & DESC_F_WRITE != 0
        || (first.len as usize) < core::mem::size_of::<BlockRequestHeader>()
    {
        return Err(ChainError::Malformed(
            "the header must be a readable 16-byte buffer",
        ));
    }
    if last.flags & DESC_F_WRITE == 0 || last.len < 1 {
        return Err(ChainError::Malformed("the status must be a writable byte"));
    }
    let header =
        GuestSpan::new(memory, GuestPhysAddr(first.addr), 16).ok_or(ChainError::OutsideMemory)?;
    let raw_type: u32 = header.read(0).ok_or(ChainError::OutsideMemory)?;
    let sector: u64 = header.read(8).ok_or(ChainError::OutsideMemory)?;
    let kind = BlockRequestType::from_raw(raw_type).ok_or(ChainError::Unsupported(raw_type))?;
    let device_writes = matches!(kind, BlockRequestType::In | BlockRequestType::GetId);
    let expected_writable = if device_writes { chain.len } else { 0 };
    if writable_data != expected_writable {
        return Err(ChainError::Malformed(
            "a data buffer has the wrong direction",
        ));
    }
    match kind {
        BlockRequestType::In | BlockRequestType::Out
            if data_len == 0 || !data_len.is_multiple_of(SECTOR_SIZE) =>
        {
            return Err(ChainError::Malformed(
                "data must be a whole number of sectors",
            ));
        }
        BlockRequestType::Flush if data_len != 0 => {
            return Err(ChainError::Malformed("a flush carries no data"));
        }
        BlockRequestType::GetId if data_len < BLOCK_ID_BYTES as u64 => {
            return Err(ChainError::Malformed("get-id needs 20 bytes"));
        }
        _ => {}
    }
    Ok(BlockRequest {
        head,
        kind,
        sector,
        data: chain.as_slice(),
        data_len,
        status: GuestPhysAddr(last.addr + last.len as u64 - 1),
    })
}

/// Descriptor `index` (16 bytes, little-endian) copied out of the table:
/// two words, each read once.
#[inline]
fn read_descriptor<M: GuestPhysMemory + ?Sized>(
    table: &GuestSpan<'_, M>,
    index: u16,
) -> Option<Descriptor> {
    let at = 16 * index as u64;
    let first: u64 = table.read(at)?;
    let second: u64 = table.read(at + 8)?;
    Some(Descriptor {
        addr: first,
        len: second as u32,
        flags: (second >> 32) as u16,
        next: (second >> 48) as u16,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::guest_memory::fake::FakeGuestMemory;
    use crate::mm::guest_memory::write;

    const TABLE: u64 = 0x1000;
    const SIZE: u16 = 8;

    fn put(memory: &FakeGuestMemory, index: u16, d: Descriptor) {
        let mut bytes = [0u8; 16];
        bytes[0..8].copy_from_slice(&d.addr.to_le_bytes());
        bytes[8..12].copy_from_slice(&d.len.to_le_bytes());
        bytes[12..14].copy_from_slice(&d.flags.to_le_bytes());
        bytes[14..16].copy_from_slice(&d.next.to_le_bytes());
        write(memory, GuestPhysAddr(TABLE + 16 * index as u64), &bytes).unwrap();
    }

    fn header(memory: &FakeGuestMemory, at: u64, kind: u32, sector: u64) {
        let mut bytes = [0u8; 16];
        bytes[0..4].copy_from_slice(&kind.to_le_bytes());
        bytes[8..16].copy_from_slice(&sector.to_le_bytes());
        write(memory, GuestPhysAddr(at), &bytes).unwrap();
    }

    fn d(addr: u64, len: u32, flags: u16, next: u16) -> Descriptor {
        Descriptor {
            addr,
            len,
            flags,
            next,
        }
    }

    fn read_request(
        memory: &FakeGuestMemory,
        head: u16,
    ) -> Result<BlockRequest<'static>, ChainError> {
        let chain = Box::leak(Box::new(Chain::new()));
        let table = GuestSpan::new(memory, GuestPhysAddr(TABLE), 16 * SIZE as u64).unwrap();
        super::read_request(memory, &table, SIZE, head, chain)
    }

    #[test]
    fn parses_a_read_with_two_data_buffers() {
        let memory = FakeGuestMemory::new(64 * 1024);
        header(&memory, 0x2000, 0, 7);
        put(&memory, 0, d(0x2000, 16, DESC_F_NEXT, 3));
        put(&memory, 3, d(0x3000, 512, DESC_F_NEXT | DESC_F_WRITE, 5));
        put(&memory, 5, d(0x4000, 1024, DESC_F_NEXT | DESC_F_WRITE, 1));
        put(&memory, 1, d(0x5000, 1, DESC_F_WRITE, 0));
        let request = read_request(&memory, 0).unwrap();
        assert_eq!(request.kind, BlockRequestType::In);
        assert_eq!(request.sector, 7);
        assert_eq!(request.data_len, 1536);
        assert_eq!(request.data().len(), 2);
        assert_eq!(request.status, GuestPhysAddr(0x5000));
    }

    #[test]
    fn refuses_loops_bad_indices_and_buffers_outside_memory() {
        let memory = FakeGuestMemory::new(64 * 1024);
        header(&memory, 0x2000, 0, 0);
        // 0 -> 1 -> 0 -> ...
        put(&memory, 0, d(0x2000, 16, DESC_F_NEXT, 1));
        put(&memory, 1, d(0x3000, 512, DESC_F_NEXT | DESC_F_WRITE, 0));
        assert_eq!(read_request(&memory, 0).unwrap_err(), ChainError::TooLong);
        put(&memory, 1, d(0x3000, 512, DESC_F_NEXT | DESC_F_WRITE, 99));
        assert_eq!(
            read_request(&memory, 0).unwrap_err(),
            ChainError::IndexOutOfRange(99)
        );
        assert_eq!(
            read_request(&memory, SIZE).unwrap_err(),
            ChainError::IndexOutOfRange(SIZE)
        );
        put(&memory, 1, d(0xfff0, 512, DESC_F_WRITE, 0));
        assert_eq!(
            read_request(&memory, 0).unwrap_err(),
            ChainError::OutsideMemory
        );
        put(&memory, 1, d(u64::MAX - 4, 16, DESC_F_WRITE, 0));
        assert_eq!(
            read_request(&memory, 0).unwrap_err(),
            ChainError::OutsideMemory
        );
        put(&memory, 1, d(0x3000, 16, DESC_F_INDIRECT, 0));
        assert_eq!(read_request(&memory, 0).unwrap_err(), ChainError::Indirect);
        // A table reaching past the domain's memory is not even spanned; a
        // descriptor past the span is outside memory.
        assert!(GuestSpan::new(&memory, GuestPhysAddr(0xfff8), 16 * SIZE as u64).is_none());
        put(&memory, 0, d(0x2000, 16, DESC_F_NEXT, 1));
        let short = GuestSpan::new(&memory, GuestPhysAddr(TABLE), 16).unwrap();
        let mut chain = Chain::new();
        let past_span = super::read_request(&memory, &short, SIZE, 0, &mut chain).map(|_| ());
        assert_eq!(past_span.unwrap_err(), ChainError::OutsideMemory);
    }

    #[test]
    fn device_data_never_goes_past_a_buffer() {
        let memory = FakeGuestMemory::new(64 * 1024);
        // A get-id whose 20 bytes are offered as two buffers of 10.
        header(&memory, 0x2000, BlockRequestType::GetId as u32, 0);
        put(&memory, 0, d(0x2000, 16, DESC_F_NEXT, 1));
        put(&memory, 1, d(0x3000, 10, DESC_F_NEXT | DESC_F_WRITE, 2));
        put(&memory, 2, d(0x4000, 10, DESC_F_NEXT | DESC_F_WRITE, 3));
        put(&memory, 3, d(0x5000, 1, DESC_F_WRITE, 0));
        let request = read_request(&memory, 0).unwrap();
        let id: [u8; BLOCK_ID_BYTES] = core::array::from_fn(|i| b'a' + i as u8);
        assert_eq!(request.fill_data(&memory, &id), Ok(BLOCK_ID_BYTES as u32));
        let bytes = memory.contents();
        assert_eq!(&bytes[0x3000..0x300a], &id[..10]);
        assert!(
            bytes[0x300a..0x3100].iter().all(|&byte| byte == 0),
            "written past the first buffer"
        );
        assert_eq!(&bytes[0x4000..0x400a], &id[10..]);
        assert!(bytes[0x400a..0x4100].iter().all(|&byte| byte == 0));
        // Sectors read into buffers of 512 and 1024 bytes.
        header(&memory, 0x2000, BlockRequestType::In as u32, 0);
        put(&memory, 1, d(0x6000, 512, DESC_F_NEXT | DESC_F_WRITE, 2));
        put(&memory, 2, d(0x8000, 1024, DESC_F_NEXT | DESC_F_WRITE, 3));
        let request = read_request(&memory, 0).unwrap();
        let sectors = [0x77u8; 1536];
        assert_eq!(request.fill_data(&memory, &sectors), Ok(1536));
        let bytes = memory.contents();
        assert!(bytes[0x6000..0x6200].iter().all(|&byte| byte == 0x77));
        assert!(bytes[0x6200..0x7000].iter().all(|&byte| byte == 0));
        assert!(bytes[0x8000..0x8400].iter().all(|&byte| byte == 0x77));
    }

    #[test]
    fn refuses_misshapen_requests() {
        let memory = FakeGuestMemory::new(64 * 1024);
        header(&memory, 0x2000, 1, 0);
        // A write whose data buffer the device would write.
        put(&memory, 0, d(0x2000, 16, DESC_F_NEXT, 1));
        put(&memory, 1, d(0x3000, 512, DESC_F_NEXT | DESC_F_WRITE, 2));
        put(&memory, 2, d(0x4000, 1, DESC_F_WRITE, 0));
        assert!(matches!(
            read_request(&memory, 0),
            Err(ChainError::Malformed(_))
        ));
        // Half a sector.
        put(&memory, 1, d(0x3000, 256, DESC_F_NEXT, 2));
        assert!(matches!(
            read_request(&memory, 0),
            Err(ChainError::Malformed(_))
        ));
        // A status byte the device may not write.
        put(&memory, 1, d(0x3000, 512, DESC_F_NEXT, 2));
        put(&memory, 2, d(0x4000, 1, 0, 0));
        assert!(matches!(
            read_request(&memory, 0),
            Err(ChainError::Malformed(_))
        ));
        // Unknown type.
        put(&memory, 2, d(0x4000, 1, DESC_F_WRITE, 0));
        header(&memory, 0x2000, 77, 0);
        assert_eq!(
            read_request(&memory, 0).unwrap_err(),
            ChainError::Unsupported(77)
        );
        // A flush with data.
        header(&memory, 0x2000, 4, 0);
        assert!(matches!(
            read_request(&memory, 0),
            Err(ChainError::Malformed(_))
        ));
        // A proper flush.
        put(&memory, 0, d(0x2000, 16, DESC_F_NEXT, 2));
        assert_eq!(
            read_request(&memory, 0).unwrap().kind,
            BlockRequestType::Flush
        );
    }
}
