//! Byte rings in shared memory: the transport of the split console.
//!
//! A ring is a power-of-two byte array with two free-running 32-bit
//! indices: the producer writes bytes at `prod` and then publishes the new
//! `prod` (release); the consumer reads bytes up to `prod` (acquire) and
//! then publishes the new `cons` (release). `prod - cons` (wrapping) is the
//! number of bytes in the ring; it is never more than the size.
//!
//! The same code is used by both sides. The side that does not trust the
//! other (the hypervisor's backend) keeps its own index privately and only
//! reads the other side's index, checking it with [`check_peer_index`].

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
        let available = prod.wrapping_sub(cons).min(self.data.len() as u32);
        let count = available.min(out.len() as u32);
        for (offset, slot) in out[..count as usize].iter_mut().enumerate() {
            let index = cons.wrapping_add(offset as u32) & self.mask();
            *slot = self.data[index as usize].load(Ordering::Relaxed);
        }
        self.cons.store(cons.wrapping_add(count), Ordering::Release);
        count
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
