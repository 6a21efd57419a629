//! Garbage the fuzzer writes into the memory it shares with the
//! hypervisor: the shared-information page. Only the fuzzer's own
//! dedicated pages are written. (Its console rings are not the
//! hypervisor's: the console server checks them, and
//! `hostile-console-ring` corrupts them.)

use super::plan::{Garbage, State};
use super::rng::Rng;

/// Digits: what the fuzzer lets the console print (never a newline, never
/// a word a test looks for).
pub const DIGITS: &[u8; 10] = b"0123456789";

/// Writes garbage of `kind`; `virt` maps a guest-physical address of the
/// fuzzer's to its virtual address.
pub fn write(kind: Garbage, rng: &mut Rng, s: &State, virt: impl Fn(u64) -> u64) {
    match kind {
        Garbage::SharedInfo => shared_info(rng, virt(s.shared)),
    }
}

fn put<T>(addr: u64, value: T) {
    // SAFETY: every address written here is in one of the fuzzer's
    // dedicated pages (the shared information), mapped at the
    // physical-memory offset; nothing of the fuzzer's own state lives there.
    unsafe { (addr as *mut T).write_unaligned(value) }
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
