//! Scenario guest for crash trials: a journal of self-checking 512-byte
//! records, one per sector, written in order.
//!
//! `mode=write seed=S` writes records 0, 1, 2, ... in 4 KiB requests,
//! flushing after a seed-dependent number of requests (1 to 8), and after
//! each flush prints `flushed through N` (records 0..N are durable). It
//! goes on until its virtual disk is full, then prints `journal full` and
//! waits; the test kills the machine at a random moment before or after.
//!
//! `mode=verify seed=S` reads the disk back and prints `intact through M`:
//! records 0..M are exactly what the writer wrote (right index, right seed,
//! right checksum). The test checks M >= N.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::checksum::Fnv1a;
use guest_kernel::drivers::block;
use guest_kernel::interrupts::{self, now_ns};
use guest_kernel::memory::{frames, phys_to_virt};
use guest_kernel::{println, scenario};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const RECORD: usize = 512;
const PER_REQUEST: usize = 8;
const REQUEST_BYTES: u32 = (RECORD * PER_REQUEST) as u32;
const MAGIC: u64 = u64::from_le_bytes(*b"JOURNAL1");

/// Fills `record` as the writer writes record `index`.
fn fill(record: &mut [u8], index: u64, seed: u64) {
    record[..8].copy_from_slice(&MAGIC.to_le_bytes());
    record[8..16].copy_from_slice(&index.to_le_bytes());
    record[16..24].copy_from_slice(&seed.to_le_bytes());
    let mut state = index.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seed;
    for byte in &mut record[24..RECORD - 8] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    let mut hash = Fnv1a::new();
    hash.update(&record[..RECORD - 8]);
    record[RECORD - 8..].copy_from_slice(&hash.value().to_le_bytes());
}

fn buffer() -> (u64, &'static mut [u8]) {
    let phys = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    // SAFETY: the frame is this guest's, mapped at the physical offset, and
    // used only through this slice.
    (phys, unsafe {
        core::slice::from_raw_parts_mut(phys_to_virt(phys), REQUEST_BYTES as usize)
    })
}

fn write(sectors: u64, seed: u64) -> ! {
    let (phys, bytes) = buffer();
    let requests = sectors / PER_REQUEST as u64;
    let mut rng = seed | 1;
    let mut since_flush = 0u64;
    let mut batch = 1;
    println!("journal: writing {requests} requests");
    let started = now_ns();
    for request in 0..requests {
        let first = request * PER_REQUEST as u64;
        for (slot, record) in bytes.chunks_mut(RECORD).enumerate() {
            fill(record, first + slot as u64, seed);
        }
        if block::write(first, phys, REQUEST_BYTES).is_err() {
            scenario::fail(format_args!("write at sector {first}"));
        }
        since_flush += 1;
        if since_flush == batch {
            if block::flush().is_err() {
                scenario::fail(format_args!("flush"));
            }
            println!("flushed through {}", first + PER_REQUEST as u64);
            since_flush = 0;
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            batch = 1 + rng % 8;
        }
    }
    println!("journal full after {} ms", (now_ns() - started) / 1_000_000);
    guest_kernel::drivers::console::flush();
    // Wait to be killed, woken by the tick now and then so that the
    // hypervisor does not end the run.
    guest_kernel::timer::init();
    loop {
        let _ = guest_kernel::hv::events::block();
    }
}

fn verify(sectors: u64, seed: u64) -> ! {
    let (phys, bytes) = buffer();
    let mut expected = [0u8; RECORD];
    let mut intact = 0u64;
    'scan: for first in (0..sectors).step_by(PER_REQUEST) {
        if block::read(first, phys, REQUEST_BYTES).is_err() {
            scenario::fail(format_args!("read at sector {first}"));
        }
        for (slot, record) in bytes.chunks(RECORD).enumerate() {
            fill(&mut expected, first + slot as u64, seed);
            if record != expected {
                break 'scan;
            }
            intact += 1;
        }
    }
    println!("intact through {intact}");
    scenario::done()
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    interrupts::enable();
    let sectors = block::init().unwrap_or_else(|e| scenario::fail(format_args!("block: {e:?}")));
    let info = scenario::start_info();
    let seed = scenario::arg(info.args(), "seed")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| scenario::fail(format_args!("no seed=N argument")));
    match scenario::arg(info.args(), "mode") {
        Some("write") => write(sectors, seed),
        Some("verify") => verify(sectors, seed),
        other => scenario::fail(format_args!("unknown mode {other:?}")),
    }
}
