//! Garbage the fuzzer writes into the memory it shares with the
//! hypervisor: the shared-information page and the console rings. Only
//! the fuzzer's own dedicated pages are written.

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
        Garbage::ConsoleRings => {
            // Drawn whether or not a console is attached, so that the
            // sequence does not depend on it.
            let page = s.console.map(&virt);
            console_rings(rng, page)
        }
    }
}

fn put<T>(addr: u64, value: T) {
    // SAFETY: every address written here is in one of the fuzzer's
    // dedicated pages (shared information, console), mapped at the
    // physical-memory offset; nothing of the fuzzer's own state lives there.
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
