//! Garbage the fuzzer writes into the memory it shares with the
//! hypervisor: the shared-information page, the console rings and the
//! block queue. Only the fuzzer's own dedicated pages are written, and
//! every address a garbage block descriptor names is either inside the
//! fuzzer's block pages or one the backend must refuse, so that whatever
//! the backend does with it stays in those pages.

use shared_abi::virtqueue::{DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE};

use super::plan::{Garbage, State, Targets};
use super::rng::Rng;

/// Digits: what the fuzzer lets the console print (never a newline, never
/// a word a test looks for).
pub const DIGITS: &[u8; 10] = b"0123456789";

/// Writes garbage of `kind`; `virt` maps a guest-physical address of the
/// fuzzer's to its virtual address.
pub fn write(kind: Garbage, rng: &mut Rng, t: &Targets, s: &State, virt: impl Fn(u64) -> u64) {
    match kind {
        Garbage::SharedInfo => shared_info(rng, virt(s.shared)),
        Garbage::ConsoleRings => {
            // Drawn whether or not a console is attached, so that the
            // sequence does not depend on it.
            let page = s.console.map(&virt);
            console_rings(rng, page)
        }
        Garbage::BlockQueue => block_queue(rng, t, s, &virt),
        Garbage::BlockRequest => block_request(rng, t, s, &virt),
    }
}

fn put<T>(addr: u64, value: T) {
    // SAFETY: every address written here is in one of the fuzzer's
    // dedicated pages (shared information, console, block queue and its
    // buffers), mapped at the physical-memory offset; nothing of the
    // fuzzer's own state lives there.
    unsafe { (addr as *mut T).write_unaligned(value) }
}

fn get<T>(addr: u64) -> T {
    // SAFETY: as for `put`.
    unsafe { (addr as *const T).read_unaligned() }
}

fn shared_info(rng: &mut Rng, page: u64) {
    for _ in 0..rng.between(1, 4) {
        let (which, value) = (rng.below(7), rng.next_u64());
        match which {
            0 => put(page, [0u8, 1, 1, value as u8][(value >> 8) as usize % 4]),
            1 => put(page + 1, [0u8, 1, value as u8][(value >> 8) as usize % 3]),
            2 => put(page + 64, value as u32),
            3 => put(page + 72 + 8 * (value >> 62), value),
            4 => put(
                page + 128,
                [0, u64::MAX, value, 1 << (value % 64)][(value >> 8) as usize % 4],
            ),
            5 => put(
                page + 136,
                [0, u64::MAX, value, 1 << (value % 64)][(value >> 8) as usize % 4],
            ),
            _ => put(page + 2 + value % 4094, (value >> 32) as u8),
        }
    }
}

fn console_rings(rng: &mut Rng, page: Option<u64>) {
    const IN_CONS: u64 = 3072;
    const IN_PROD: u64 = 3076;
    const OUT_CONS: u64 = 3080;
    const OUT_PROD: u64 = 3084;
    for _ in 0..rng.between(1, 3) {
        let (which, value, small) = (rng.below(6), rng.next_u64(), rng.between(1, 16) as u32);
        let Some(page) = page else {
            continue;
        };
        match which {
            0 | 1 => {
                let current: u32 = get(page + OUT_PROD);
                let next = [
                    current.wrapping_add(small),
                    current.wrapping_add(small),
                    current.wrapping_add(2048),
                    current.wrapping_add(2049),
                    current.wrapping_sub(small),
                    u32::MAX,
                    value as u32,
                ][(value >> 32) as usize % 7];
                put(page + OUT_PROD, next);
            }
            2 => {
                let current: u32 = get(page + IN_CONS);
                let next = [
                    current.wrapping_add(small),
                    current.wrapping_sub(small),
                    current.wrapping_add(1025),
                    value as u32,
                ][(value >> 32) as usize % 4];
                put(page + IN_CONS, next);
            }
            3 => put(
                page + [IN_PROD, OUT_CONS][(value >> 63) as usize],
                value as u32,
            ),
            4 => {
                // Output bytes stay digits.
                let at = 1024 + value % 2048;
                put(page + at, DIGITS[(value >> 32) as usize % DIGITS.len()]);
            }
            _ => put(page + value % 1024, (value >> 32) as u8),
        }
    }
}

/// A buffer for a garbage descriptor: inside the block pages, or one the
/// backend must refuse (outside memory, running past its end, wrapping).
fn buffer(rng: &mut Rng, t: &Targets) -> (u64, u32) {
    let start = t.queue;
    let end = t.data + t.data_len;
    let (which, value, len_pick) = (rng.below(8), rng.next_u64(), rng.below(4));
    match which {
        0..=3 => {
            let addr = t.data + value % t.data_len;
            let room = end - addr;
            let len = [16, 512.min(room), room, value >> 40][len_pick as usize] % (room + 1);
            (addr, len as u32)
        }
        4 | 5 => {
            let addr = start + value % (end - start);
            let room = end - addr;
            // u32::MAX runs past the end of memory: refused.
            let len = [1, 16.min(room), room, u32::MAX as u64][len_pick as usize];
            (addr, len as u32)
        }
        6 => (
            t.memory_bytes + value % (1 << 20),
            [16, 512, 4096, 1][len_pick as usize],
        ),
        _ => (
            [t.memory_bytes - 8, u64::MAX - 7][(value >> 63) as usize],
            [16, 512, 4096, 9][len_pick as usize],
        ),
    }
}

fn block_queue(rng: &mut Rng, t: &Targets, s: &State, virt: &impl Fn(u64) -> u64) {
    const FLAGS: [u16; 8] = [
        0,
        DESC_F_NEXT,
        DESC_F_WRITE,
        DESC_F_NEXT | DESC_F_WRITE,
        DESC_F_NEXT,
        DESC_F_NEXT | DESC_F_WRITE,
        DESC_F_INDIRECT,
        DESC_F_NEXT | DESC_F_INDIRECT,
    ];
    for _ in 0..rng.between(1, 4) {
        let (which, value, (addr, len)) = (rng.below(7), rng.next_u64(), buffer(rng, t));
        let Some(queue) = s.queue else {
            continue;
        };
        let size = queue.size as u64;
        match which {
            0..=2 => {
                let index = value % size;
                let flags = if value >> 60 == 0 {
                    (value >> 32) as u16
                } else {
                    FLAGS[(value >> 32) as usize % FLAGS.len()]
                };
                let next = if value >> 59 & 1 == 0 {
                    ((value >> 16) % size) as u16
                } else {
                    (value >> 16) as u16
                };
                let at = virt(queue.descriptors + 16 * index);
                put(at, addr);
                put(at + 8, len);
                put(at + 12, flags);
                put(at + 14, next);
            }
            3 => {
                // A request header in the data pages.
                let at = t.data + (value % (t.data_len / 16)) * 16;
                let kind = [0u32, 1, 4, 8, 2, value as u32][(value >> 32) as usize % 6];
                let sector = [
                    0,
                    1,
                    t.sectors.saturating_sub(1),
                    t.sectors,
                    u64::MAX,
                    value >> 8,
                ][(value >> 40) as usize % 6];
                put(virt(at), kind);
                put(virt(at) + 4, 0u32);
                put(virt(at) + 8, sector);
            }
            4 => {
                let slot = value % size;
                let head = if value >> 63 == 0 {
                    ((value >> 16) % size) as u16
                } else {
                    (value >> 16) as u16
                };
                put(virt(queue.available + 4 + 2 * slot), head);
            }
            5 => {
                let at = virt(queue.available + 2);
                let current: u16 = get(at);
                let step = [1, 1, 2, 3, queue.size.wrapping_add(1), 0x8000, value as u16]
                    [(value >> 32) as usize % 7];
                put(at, current.wrapping_add(step));
            }
            _ => {
                let at = [queue.available + 4 + 2 * size, queue.available][(value >> 63) as usize];
                put(virt(at), (value >> 8) as u16);
            }
        }
    }
}

/// A request that is almost right: a header of each kind (and unknown
/// ones), zero to three data buffers of edge-case sizes in either
/// direction, a status byte; buffers start after the header or end right at
/// the end of the block pages (so that a device writing past a buffer hits
/// the canary page after them). Made available at the ring's next slot.
fn block_request(rng: &mut Rng, t: &Targets, s: &State, virt: &impl Fn(u64) -> u64) {
    const LENGTHS: [u64; 9] = [1, 10, 16, 19, 20, 512, 1024, 4096, 512];
    let kind = [0u32, 1, 4, 8, 8, 2, rng.next_u64() as u32][rng.below(7) as usize];
    let sector = [
        0,
        1,
        t.sectors.saturating_sub(1),
        t.sectors,
        u64::MAX,
        rng.below(1 << 20),
    ][rng.below(6) as usize];
    let head_at = rng.next_u64();
    let buffers = rng.below(4) as usize;
    let mut data = [(0u64, 0u64, false); 3];
    for slot in data.iter_mut() {
        let (len, at_end, flipped) = (
            LENGTHS[rng.below(LENGTHS.len() as u64) as usize],
            rng.chance(1, 2),
            rng.chance(1, 8),
        );
        *slot = (len, at_end as u64, flipped);
    }
    let status_at_end = rng.chance(1, 3);
    let Some(queue) = s.queue else {
        return;
    };
    let size = queue.size as u64;
    if size < 2 + buffers as u64 {
        return;
    }
    let end = t.data + t.data_len;
    let header = t.data;
    let status = if status_at_end { end - 1 } else { t.data + 32 };
    let device_writes = matches!(kind, 0 | 8);
    put(virt(header), kind);
    put(virt(header) + 4, 0u32);
    put(virt(header) + 8, sector);
    // Descriptors head, head + 1, ... (modulo the queue's size).
    let head = head_at % size;
    let mut chain = [(0u64, 0u32, 0u16); 5];
    chain[0] = (header, 16, 0);
    let mut next_free = t.data + 64;
    for (index, &(len, at_end, flipped)) in data[..buffers].iter().enumerate() {
        let addr = if at_end == 1 || next_free + len > end - 1 {
            end - len
        } else {
            let addr = next_free;
            next_free += len;
            addr
        };
        let writes = device_writes != flipped;
        chain[1 + index] = (addr, len as u32, if writes { DESC_F_WRITE } else { 0 });
    }
    chain[1 + buffers] = (status, 1, DESC_F_WRITE);
    let count = 2 + buffers;
    for (offset, &(addr, len, flags)) in chain[..count].iter().enumerate() {
        let index = (head + offset as u64) % size;
        let next = ((index + 1) % size) as u16;
        let flags = if offset + 1 < count {
            flags | DESC_F_NEXT
        } else {
            flags
        };
        let at = virt(queue.descriptors + 16 * index);
        put(at, addr);
        put(at + 8, len);
        put(at + 12, flags);
        put(at + 14, next);
    }
    let idx_at = virt(queue.available + 2);
    let idx: u16 = get(idx_at);
    put(
        virt(queue.available + 4 + 2 * (idx as u64 % size)),
        head as u16,
    );
    put(idx_at, idx.wrapping_add(1));
}
