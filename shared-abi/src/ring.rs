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

/// The console backend's side of one frontend's rings: the output ring's
/// consumer and the input ring's producer.
///
/// It never trusts the frontend's copy of its own indices: it keeps them
/// here, writes them out, and only reads the frontend's indices (the
/// output producer and the input consumer), checking each against what is
/// possible. The rings are passed to each call rather than kept: they are
/// the frontend's memory, reached through a grant that may go.
#[derive(Clone, Copy, Debug)]
pub struct ConsoleBackend {
    out_cons: u32,
    last_out_prod: u32,
    in_prod: u32,
    last_in_cons: u32,
}

impl ConsoleBackend {
    /// Takes over `rings` from where the last backend left them (its
    /// consumer and producer indices in the page): a restarted backend
    /// shows again what its predecessor took but had not published.
    pub fn adopt(rings: &ConsoleRings) -> Self {
        let out_cons = rings.out_cons.load(Ordering::Acquire);
        let in_prod = rings.in_prod.load(Ordering::Acquire);
        Self {
            out_cons,
            // The lowest values the frontend's indices may have.
            last_out_prod: out_cons,
            in_prod,
            last_in_cons: in_prod.wrapping_sub(INPUT_SIZE as u32),
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

    /// Moves what the frontend has produced to `sink`, publishing the
    /// consumer index after each piece is used, so that a backend that
    /// fails in `sink` leaves that piece for its successor. Returns
    /// whether anything moved.
    pub fn drain(
        &mut self,
        rings: &ConsoleRings,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<bool, Corrupt> {
        let prod = rings.out_prod.load(Ordering::Acquire);
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
        let ring = rings.output_ring();
        let mut buffer = [0u8; 256];
        let mut moved = false;
        while self.out_cons != prod {
            let count = ring.peek_with(self.out_cons, prod, &mut buffer);
            self.out_cons = self.out_cons.wrapping_add(count);
            sink(&buffer[..count as usize]);
            ring.publish_cons(self.out_cons);
            moved = true;
        }
        Ok(moved)
    }

    /// Whether the frontend's output producer is past what was taken (the
    /// index unchecked: [`ConsoleBackend::drain`] checks it).
    pub fn output_waiting(&self, rings: &ConsoleRings) -> bool {
        rings.out_prod.load(Ordering::Acquire) != self.out_cons
    }

    /// Moves as much of `bytes` into the input ring as it has room for;
    /// returns how many it took.
    pub fn fill(&mut self, rings: &ConsoleRings, bytes: &[u8]) -> Result<usize, Corrupt> {
        let cons = rings.in_cons.load(Ordering::Acquire);
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
        let count = rings.input_ring().produce_with(self.in_prod, cons, bytes);
        self.in_prod = self.in_prod.wrapping_add(count);
        Ok(count as usize)
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
    fn a_backend_moves_both_ways_and_believes_no_index() {
        let rings = rings();
        let mut backend = ConsoleBackend::adopt(&rings);
        assert_eq!(rings.output_ring().produce(b"hello"), 5);
        let mut seen = Vec::new();
        assert_eq!(
            backend.drain(&rings, |b| seen.extend_from_slice(b)),
            Ok(true)
        );
        assert_eq!(seen, b"hello");
        assert_eq!(rings.out_cons.load(Ordering::Relaxed), 5, "published");
        assert_eq!(backend.drain(&rings, |_| panic!("nothing new")), Ok(false));
        assert_eq!(backend.fill(&rings, &[7; 2000]), Ok(INPUT_SIZE));
        assert_eq!(backend.fill(&rings, b"x"), Ok(0), "the input ring is full");
        let mut out = [0u8; 10];
        assert_eq!(rings.input_ring().consume(&mut out), 10);
        assert_eq!(backend.fill(&rings, b"more"), Ok(4));
        // The frontend's output producer far ahead, then its input
        // consumer moved back: each is refused.
        rings.out_prod.store(100_000, Ordering::Relaxed);
        let fault = backend
            .drain(&rings, |_| panic!("nothing taken"))
            .unwrap_err();
        assert_eq!(
            (fault.index, fault.fault),
            ("output producer", RingFault::BeyondRing)
        );
        rings.in_cons.store(3, Ordering::Relaxed);
        let fault = backend.fill(&rings, b"y").unwrap_err();
        assert_eq!(fault.index, "input consumer");
    }

    #[test]
    fn a_new_backend_starts_where_the_old_one_published() {
        let rings = rings();
        let mut first = ConsoleBackend::adopt(&rings);
        assert_eq!(rings.output_ring().produce(b"abcdef"), 6);
        // The first backend fails while showing what it took: that piece
        // was not published, and its successor shows it again.
        let mut shown = Vec::new();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            first.drain(&rings, |b| {
                shown.extend_from_slice(b);
                panic!("crash while showing");
            })
        }));
        let mut second = ConsoleBackend::adopt(&rings);
        let mut again = Vec::new();
        assert_eq!(
            second.drain(&rings, |b| again.extend_from_slice(b)),
            Ok(true)
        );
        assert_eq!(again, b"abcdef");
        assert_eq!(second.taken(), 6);
        second.taken_to(9);
        assert_eq!(second.taken(), 9);
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
