//! Byte rings in shared memory: the transport of the split console.
//!
//! A ring is a power-of-two byte array with two free-running 32-bit
//! indices: the producer writes bytes at `prod` and then publishes the new
//! `prod` (release); the consumer reads bytes up to `prod` (acquire) and
//! then publishes the new `cons` (release). `prod - cons` (wrapping) is the
//! number of bytes in the ring; it is never more than the size.
//!
//! The same code is used by both sides. The side that does not trust the
//! other (the console server, [`ConsoleBackend`]) keeps its own indices
//! privately and only reads the other side's, checking each with
//! [`check_peer_index`].

use core::sync::atomic::{AtomicU8, AtomicU32, Ordering};

/// Bytes of the input ring (backend to guest).
pub const INPUT_SIZE: usize = 1024;
/// Bytes of the output ring (guest to backend).
pub const OUTPUT_SIZE: usize = 2048;

/// The console's shared page: an input ring and an output ring with their
/// indices. The guest is the input consumer and the output producer.
#[repr(C)]
pub struct ConsoleRings {
    /// Bytes typed at the console for the guest.
    pub input: [AtomicU8; INPUT_SIZE],
    /// Bytes the guest prints.
    pub output: [AtomicU8; OUTPUT_SIZE],
    /// Guest's input consumer index.
    pub in_cons: AtomicU32,
    /// Backend's input producer index.
    pub in_prod: AtomicU32,
    /// Backend's output consumer index.
    pub out_cons: AtomicU32,
    /// Guest's output producer index.
    pub out_prod: AtomicU32,
}

const _: () = {
    assert!(core::mem::offset_of!(ConsoleRings, input) == 0);
    assert!(core::mem::offset_of!(ConsoleRings, output) == 1024);
    assert!(core::mem::offset_of!(ConsoleRings, in_cons) == 3072);
    assert!(core::mem::offset_of!(ConsoleRings, in_prod) == 3076);
    assert!(core::mem::offset_of!(ConsoleRings, out_cons) == 3080);
    assert!(core::mem::offset_of!(ConsoleRings, out_prod) == 3084);
    assert!(core::mem::size_of::<ConsoleRings>() <= 4096);
    assert!(INPUT_SIZE.is_power_of_two() && OUTPUT_SIZE.is_power_of_two());
};

/// One direction of a ring: its bytes and its two indices.
#[derive(Clone, Copy)]
pub struct Ring<'a> {
    data: &'a [AtomicU8],
    prod: &'a AtomicU32,
    cons: &'a AtomicU32,
}

impl<'a> Ring<'a> {
    /// A ring over `data` (power-of-two length) and its indices.
    pub fn new(data: &'a [AtomicU8], prod: &'a AtomicU32, cons: &'a AtomicU32) -> Self {
        debug_assert!(data.len().is_power_of_two());
        Self { data, prod, cons }
    }

    fn mask(&self) -> u32 {
        self.data.len() as u32 - 1
    }

    /// Producer side: copies as much of `bytes` as fits, publishes it, and
    /// returns how many bytes were taken. `cons` is the consumer index to
    /// trust (read from the ring by a trusting producer).
    pub fn produce_with(&self, prod: u32, cons: u32, bytes: &[u8]) -> u32 {
        let free = self.data.len() as u32 - prod.wrapping_sub(cons).min(self.data.len() as u32);
        let count = free.min(bytes.len() as u32);
        for (offset, byte) in bytes[..count as usize].iter().enumerate() {
            let slot = prod.wrapping_add(offset as u32) & self.mask();
            self.data[slot as usize].store(*byte, Ordering::Relaxed);
        }
        self.prod.store(prod.wrapping_add(count), Ordering::Release);
        count
    }

    /// Producer side, trusting both indices in shared memory.
    pub fn produce(&self, bytes: &[u8]) -> u32 {
        let prod = self.prod.load(Ordering::Relaxed);
        let cons = self.cons.load(Ordering::Acquire);
        self.produce_with(prod, cons, bytes)
    }

    /// Consumer side: copies up to `out.len()` bytes between `cons` and
    /// `prod`, publishes the new consumer index, and returns the count.
    pub fn consume_with(&self, cons: u32, prod: u32, out: &mut [u8]) -> u32 {
        let count = self.peek_with(cons, prod, out);
        self.publish_cons(cons.wrapping_add(count));
        count
    }

    /// Consumer side, without publishing: copies up to `out.len()` bytes
    /// between `cons` and `prod` and returns the count. The consumer
    /// publishes with [`Ring::publish_cons`] once it has used them.
    pub fn peek_with(&self, cons: u32, prod: u32, out: &mut [u8]) -> u32 {
        let available = prod.wrapping_sub(cons).min(self.data.len() as u32);
        let count = available.min(out.len() as u32);
        for (offset, slot) in out[..count as usize].iter_mut().enumerate() {
            let index = cons.wrapping_add(offset as u32) & self.mask();
            *slot = self.data[index as usize].load(Ordering::Relaxed);
        }
        count
    }

    /// Publishes the consumer index `cons`.
    pub fn publish_cons(&self, cons: u32) {
        self.cons.store(cons, Ordering::Release);
    }

    /// The producer index in shared memory.
    pub fn prod_index(&self) -> u32 {
        self.prod.load(Ordering::Acquire)
    }

    /// The consumer index in shared memory.
    pub fn cons_index(&self) -> u32 {
        self.cons.load(Ordering::Acquire)
    }

    /// Consumer side, for a ring whose consumer is gone: hands everything
    /// between the indices in shared memory to `take`, a `buffer`-full at
    /// a time with the ring index of its first byte, publishing the
    /// consumer index after each piece. Returns false, taking nothing,
    /// when the indices claim more than the ring holds.
    pub fn take_rest(&self, buffer: &mut [u8], mut take: impl FnMut(u32, &[u8])) -> bool {
        let (mut cons, prod) = (self.cons_index(), self.prod_index());
        if prod.wrapping_sub(cons) > self.capacity() {
            return false;
        }
        while cons != prod {
            let count = self.peek_with(cons, prod, buffer);
            take(cons, &buffer[..count as usize]);
            cons = cons.wrapping_add(count);
            self.publish_cons(cons);
        }
        true
    }

    /// Consumer side, trusting both indices in shared memory.
    pub fn consume(&self, out: &mut [u8]) -> u32 {
        let cons = self.cons.load(Ordering::Relaxed);
        let prod = self.prod.load(Ordering::Acquire);
        self.consume_with(cons, prod, out)
    }

    /// Bytes waiting (as the indices in shared memory say).
    pub fn len(&self) -> u32 {
        self.prod
            .load(Ordering::Acquire)
            .wrapping_sub(self.cons.load(Ordering::Acquire))
    }

    /// Whether no byte is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ring size.
    pub fn capacity(&self) -> u32 {
        self.data.len() as u32
    }
}

impl ConsoleRings {
    /// Sets all four indices to 0 (a frontend's fresh ring).
    pub fn reset(&self) {
        for index in [&self.in_cons, &self.in_prod, &self.out_cons, &self.out_prod] {
            index.store(0, Ordering::SeqCst);
        }
    }

    /// The output ring (guest produces).
    pub fn output_ring(&self) -> Ring<'_> {
        Ring::new(&self.output, &self.out_prod, &self.out_cons)
    }

    /// The input ring (backend produces).
    pub fn input_ring(&self) -> Ring<'_> {
        Ring::new(&self.input, &self.in_prod, &self.in_cons)
    }
}

/// Why a peer's index is not believable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingFault {
    /// More bytes claimed than the ring holds.
    BeyondRing,
    /// The index moved backwards.
    Backwards,
}

/// Checks an index written by the untrusted side. `own` is the trusted
/// side's private index, `last_seen` the peer's index as last accepted, and
/// `peer` the new value. For a peer producer, `peer - own` must not exceed
/// the size; for a peer consumer, `own - peer` must not. Either way the
/// peer may not move backwards from `last_seen`.
pub fn check_peer_index(
    own: u32,
    last_seen: u32,
    peer: u32,
    size: u32,
    peer_produces: bool,
) -> Result<(), RingFault> {
    let distance = if peer_produces {
        peer.wrapping_sub(own)
    } else {
        own.wrapping_sub(peer)
    };
    if distance > size {
        return Err(RingFault::BeyondRing);
    }
    if peer.wrapping_sub(last_seen) > size {
        return Err(RingFault::Backwards);
    }
    Ok(())
}

/// What corrupted a ring: which index, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corrupt {
    /// Which index.
    pub index: &'static str,
    /// How.
    pub fault: RingFault,
}

/// Offset of the output ring in the console page.
pub const OUTPUT_OFFSET: usize = INPUT_SIZE;
/// Offset of the four indices (`in_cons`, `in_prod`, `out_cons`,
/// `out_prod`, each `u32`, little-endian) in the console page.
pub const INDICES_OFFSET: usize = INPUT_SIZE + OUTPUT_SIZE;
/// Offset of `in_prod` in the console page.
pub const IN_PROD_OFFSET: usize = INDICES_OFFSET + 4;
/// Offset of `out_cons` in the console page.
pub const OUT_CONS_OFFSET: usize = INDICES_OFFSET + 8;

/// The four indices of a console page, as copied out of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Indices {
    /// The guest's input consumer.
    pub in_cons: u32,
    /// The backend's input producer.
    pub in_prod: u32,
    /// The backend's output consumer.
    pub out_cons: u32,
    /// The guest's output producer.
    pub out_prod: u32,
}

impl Indices {
    /// Encoded length.
    pub const BYTES: usize = 16;

    /// Decodes the bytes at [`INDICES_OFFSET`].
    pub fn from_bytes(bytes: &[u8; Self::BYTES]) -> Self {
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        Self {
            in_cons: word(0),
            in_prod: word(4),
            out_cons: word(8),
            out_prod: word(12),
        }
    }
}

/// The stretch of a ring of `size` bytes at `base` in the page that holds
/// ring index `index` on: its offset in the page and how many of `count`
/// bytes lie there before the ring wraps (the rest start at `base`).
pub fn stretch(base: usize, size: usize, index: u32, count: usize) -> (usize, usize) {
    let at = index as usize & (size - 1);
    (base + at, count.min(size - at))
}

/// The console backend's side of one frontend's rings: the output ring's
/// consumer and the input ring's producer, as index arithmetic over what
/// it copies out of and into the frontend's page.
///
/// It never trusts the frontend's copy of its own indices: it keeps them
/// here and only takes the frontend's indices (the output producer and the
/// input consumer) from the page, checking each against what is possible.
#[derive(Clone, Copy, Debug)]
pub struct ConsoleBackend {
    out_cons: u32,
    last_out_prod: u32,
    in_prod: u32,
    last_in_cons: u32,
}

impl ConsoleBackend {
    /// Takes over a page from where the last backend left it (its
    /// consumer and producer indices in `indices`): a restarted backend
    /// shows again what its predecessor took but had not published.
    pub fn adopt(indices: Indices) -> Self {
        Self {
            out_cons: indices.out_cons,
            // The lowest values the frontend's indices may have.
            last_out_prod: indices.out_cons,
            in_prod: indices.in_prod,
            last_in_cons: indices.in_prod.wrapping_sub(INPUT_SIZE as u32),
        }
    }

    /// The output index up to which the bytes are taken (shown or being
    /// shown).
    pub fn taken(&self) -> u32 {
        self.out_cons
    }

    /// Records that the output up to `end` was taken some other way (the
    /// hypervisor passed it on after the frontend ended).
    pub fn taken_to(&mut self, end: u32) {
        self.out_cons = end;
    }

    /// The input producer index.
    pub fn given(&self) -> u32 {
        self.in_prod
    }

    /// Checks the frontend's output producer `prod`; returns how many
    /// bytes wait from [`ConsoleBackend::taken`] on.
    pub fn output(&mut self, prod: u32) -> Result<usize, Corrupt> {
        check_peer_index(
            self.out_cons,
            self.last_out_prod,
            prod,
            OUTPUT_SIZE as u32,
            true,
        )
        .map_err(|fault| Corrupt {
            index: "output producer",
            fault,
        })?;
        self.last_out_prod = prod;
        Ok(prod.wrapping_sub(self.out_cons) as usize)
    }

    /// `count` output bytes were taken; returns the consumer index to
    /// publish once they are shown.
    pub fn take(&mut self, count: usize) -> u32 {
        self.out_cons = self.out_cons.wrapping_add(count as u32);
        self.out_cons
    }

    /// Checks the frontend's input consumer `cons`; returns how many bytes
    /// the input ring has room for from [`ConsoleBackend::given`] on.
    pub fn input_room(&mut self, cons: u32) -> Result<usize, Corrupt> {
        check_peer_index(
            self.in_prod,
            self.last_in_cons,
            cons,
            INPUT_SIZE as u32,
            false,
        )
        .map_err(|fault| Corrupt {
            index: "input consumer",
            fault,
        })?;
        self.last_in_cons = cons;
        Ok(INPUT_SIZE - self.in_prod.wrapping_sub(cons) as usize)
    }

    /// `count` input bytes were written; returns the producer index to
    /// publish.
    pub fn give(&mut self, count: usize) -> u32 {
        self.in_prod = self.in_prod.wrapping_add(count as u32);
        self.in_prod
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::boxed::Box;
    use std::vec::Vec;

    fn rings() -> Box<ConsoleRings> {
        // SAFETY: ConsoleRings is made of atomics and byte arrays of
        // atomics, for which all-zero is a valid value.
        unsafe { Box::new(core::mem::zeroed()) }
    }

    #[test]
    fn fills_to_capacity_and_empties_across_wrap_around() {
        let rings = rings();
        let ring = rings.output_ring();
        let data: Vec<u8> = (0..=255u8).cycle().take(3100).collect();
        assert_eq!(ring.produce(&data[..1500]), 1500);
        let mut out = std::vec![0u8; 1000];
        assert_eq!(ring.consume(&mut out), 1000);
        assert_eq!(&out[..], &data[..1000]);
        // 500 left; 1548 free: the write wraps around the end.
        assert_eq!(ring.produce(&data[1500..]), 1548);
        assert_eq!(ring.len(), 2048, "full");
        assert_eq!(ring.produce(b"x"), 0, "nothing fits in a full ring");
        let mut out = std::vec![0u8; 4096];
        assert_eq!(ring.consume(&mut out), 2048);
        assert_eq!(&out[..2048], &data[1000..3048]);
        assert!(ring.is_empty());
        assert_eq!(
            ring.consume(&mut out),
            0,
            "nothing to read from an empty ring"
        );
    }

    #[test]
    fn indices_wrap_at_u32() {
        let rings = rings();
        rings.out_prod.store(u32::MAX - 2, Ordering::Relaxed);
        rings.out_cons.store(u32::MAX - 2, Ordering::Relaxed);
        let ring = rings.output_ring();
        assert_eq!(ring.produce(b"abcdef"), 6);
        assert_eq!(rings.out_prod.load(Ordering::Relaxed), 3);
        let mut out = [0u8; 6];
        assert_eq!(ring.consume(&mut out), 6);
        assert_eq!(&out, b"abcdef");
    }

    #[test]
    fn untrusted_indices_are_checked() {
        // Peer producer: at most `size` ahead of our consumer index.
        assert_eq!(check_peer_index(100, 100, 100 + 2048, 2048, true), Ok(()));
        assert_eq!(
            check_peer_index(100, 100, 100 + 2049, 2048, true),
            Err(RingFault::BeyondRing)
        );
        assert_eq!(
            check_peer_index(100, 150, 120, 2048, true),
            Err(RingFault::Backwards)
        );
        assert_eq!(
            check_peer_index(100, 100, 99, 2048, true),
            Err(RingFault::BeyondRing)
        );
        // Peer consumer: at most `size` behind our producer index.
        assert_eq!(check_peer_index(500, 10, 20, 1024, false), Ok(()));
        assert_eq!(
            check_peer_index(500, 10, 600, 1024, false),
            Err(RingFault::BeyondRing)
        );
        assert_eq!(
            check_peer_index(5000, 4000, 3900, 1024, false),
            Err(RingFault::BeyondRing)
        );
        assert_eq!(
            check_peer_index(u32::MAX, u32::MAX - 5, 2, 1024, false),
            Err(RingFault::BeyondRing)
        );
    }

    #[test]
    fn the_rest_of_a_ring_is_taken_in_pieces_unless_its_indices_lie() {
        let rings = rings();
        let ring = rings.output_ring();
        rings.out_prod.store(2040, Ordering::Relaxed);
        rings.out_cons.store(2040, Ordering::Relaxed);
        assert_eq!(ring.produce(b"0123456789abcdef"), 16);
        let mut pieces = Vec::new();
        let mut buffer = [0u8; 5];
        assert!(ring.take_rest(&mut buffer, |at, bytes| pieces.push((at, bytes.to_vec()))));
        let starts: Vec<u32> = pieces.iter().map(|(at, _)| *at).collect();
        assert_eq!(starts, [2040, 2045, 2050, 2055], "across the wrap");
        let bytes: Vec<u8> = pieces.into_iter().flat_map(|(_, b)| b).collect();
        assert_eq!(bytes, b"0123456789abcdef");
        assert!(ring.is_empty(), "published");
        rings.out_prod.store(2056 + 2049, Ordering::Relaxed);
        assert!(!ring.take_rest(&mut buffer, |_, _| panic!("a lying index")));
        assert_eq!(
            rings.out_cons.load(Ordering::Relaxed),
            2056,
            "nothing taken"
        );
    }

    #[test]
    fn the_indices_and_stretches_of_a_page() {
        let rings = rings();
        rings.in_cons.store(1, Ordering::Relaxed);
        rings.in_prod.store(2, Ordering::Relaxed);
        rings.out_cons.store(3, Ordering::Relaxed);
        rings.out_prod.store(u32::MAX, Ordering::Relaxed);
        // SAFETY: the rings are a page of plain memory; 16 bytes at 3072.
        let bytes: [u8; 16] = unsafe {
            *(core::ptr::from_ref(&*rings)
                .cast::<u8>()
                .add(INDICES_OFFSET)
                .cast::<[u8; 16]>())
        };
        let indices = Indices::from_bytes(&bytes);
        assert_eq!(
            indices,
            Indices {
                in_cons: 1,
                in_prod: 2,
                out_cons: 3,
                out_prod: u32::MAX
            }
        );
        assert_eq!(IN_PROD_OFFSET, 3076);
        assert_eq!(OUT_CONS_OFFSET, 3080);
        // Output index 2047 is the last byte before the wrap; 2048 the
        // first of the ring again.
        assert_eq!(stretch(OUTPUT_OFFSET, OUTPUT_SIZE, 2047, 10), (3071, 1));
        assert_eq!(stretch(OUTPUT_OFFSET, OUTPUT_SIZE, 2048, 10), (1024, 10));
        assert_eq!(stretch(0, INPUT_SIZE, u32::MAX, 4), (1023, 1));
    }

    #[test]
    fn a_backend_moves_both_ways_and_believes_no_index() {
        let mut backend = ConsoleBackend::adopt(Indices::default());
        assert_eq!(backend.output(5), Ok(5));
        assert_eq!(backend.take(5), 5);
        assert_eq!(backend.output(5), Ok(0));
        assert_eq!(backend.input_room(0), Ok(INPUT_SIZE));
        assert_eq!(backend.give(INPUT_SIZE), INPUT_SIZE as u32);
        assert_eq!(backend.input_room(0), Ok(0), "the input ring is full");
        assert_eq!(backend.input_room(10), Ok(10));
        // The frontend's output producer far ahead, then moved back; its
        // input consumer moved back, then past what was given.
        let fault = backend.output(100_000).unwrap_err();
        assert_eq!(
            (fault.index, fault.fault),
            ("output producer", RingFault::BeyondRing)
        );
        assert_eq!(backend.output(4).unwrap_err().fault, RingFault::BeyondRing);
        assert_eq!(backend.input_room(3).unwrap_err().index, "input consumer");
        assert!(backend.input_room(INPUT_SIZE as u32 + 1).is_err());
    }

    #[test]
    fn a_new_backend_starts_where_the_old_one_published() {
        let indices = Indices {
            in_cons: 7,
            in_prod: 9,
            out_cons: u32::MAX - 1,
            out_prod: 4,
        };
        let mut backend = ConsoleBackend::adopt(indices);
        assert_eq!(backend.taken(), u32::MAX - 1);
        assert_eq!(backend.given(), 9);
        assert_eq!(backend.output(4), Ok(6), "across the wrap");
        assert_eq!(backend.input_room(7), Ok(INPUT_SIZE - 2));
        backend.taken_to(2);
        assert_eq!(backend.output(4), Ok(2));
    }

    #[test]
    fn concurrent_producer_and_consumer_lose_and_duplicate_nothing() {
        let rings: &'static ConsoleRings = Box::leak(rings());
        const TOTAL: usize = 2_000_000;
        let producer = std::thread::spawn(move || {
            let ring = rings.output_ring();
            let mut next = 0usize;
            let mut seed = 0x1234_5678u32;
            while next < TOTAL {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let chunk = 1 + (seed >> 24) as usize % 300;
                let bytes: Vec<u8> = (next..(next + chunk).min(TOTAL))
                    .map(|i| (i % 251) as u8)
                    .collect();
                next += ring.produce(&bytes) as usize;
            }
        });
        let ring = rings.output_ring();
        let mut received = 0usize;
        let mut buffer = [0u8; 777];
        let mut seed = 0x9e37_79b9u32;
        while received < TOTAL {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let want = 1 + (seed >> 22) as usize % buffer.len();
            let count = ring.consume(&mut buffer[..want]) as usize;
            for (offset, byte) in buffer[..count].iter().enumerate() {
                assert_eq!(
                    *byte,
                    ((received + offset) % 251) as u8,
                    "byte {} out of order",
                    received + offset
                );
            }
            received += count;
        }
        producer.join().unwrap();
        assert!(ring.is_empty());
    }
}
