//! The raw `syscall` instruction with the ABI's register convention.

use crate::Hypercall;

/// Issues hypercall `call` with five arguments (`rdi`, `rsi`, `rdx`, `r10`,
/// `r8`) and returns `rax` as a signed value (negative values are a
/// [`Status`](crate::Status)).
///
/// # Safety
///
/// Pointer arguments must be valid for what the call does with them: the
/// hypervisor validates that they are mapped in the guest, but it cannot know
/// whether overwriting that memory breaks the guest's own invariants.
pub unsafe fn hypercall(call: Hypercall, args: [u64; 5]) -> i64 {
    // SAFETY: forwarded from the caller.
    unsafe { hypercall_number(call as u64, args) }
}

/// Like [`hypercall`] with a raw number, for probing numbers this crate does
/// not define (the hypervisor answers `UnknownHypercall`).
///
/// # Safety
///
/// As for [`hypercall`].
pub unsafe fn hypercall_number(number: u64, args: [u64; 5]) -> i64 {
    let result: i64;
    // SAFETY: `syscall` enters the hypervisor, which preserves every register
    // but rax (result), rcx and r11 (clobbered by the instruction itself).
    // Memory may be written by calls that take an out-pointer, so the asm is
    // not `nomem`.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") number as i64 => result,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    result
}
