//! The raw `syscall` instruction with the ABI's register convention, and
//! [`call`], which issues a typed request through it.

use crate::Status;
use crate::hypercall::{Request, decode_result};

/// Issues `request` (its number in `rax`, its arguments in `rdi`, `rsi`,
/// `rdx`, `r10`, `r8`) and decodes `rax`: the call's output, or the
/// [`Status`] it failed with. The wrappers of this module are built on it;
/// use it for a call they do not wrap the way you need.
///
/// ```no_run
/// use shared_abi::hypercall::request;
/// // SAFETY: event_status takes no pointer.
/// let status = unsafe { shared_abi::guest::call(request::EventStatus { port: 1 }) };
/// # let _ = status;
/// ```
///
/// # Safety
///
/// Pointer arguments must be valid for what the call does with them: the
/// hypervisor validates that they are mapped in the guest, but it cannot know
/// whether overwriting that memory breaks the guest's own invariants.
#[inline]
pub unsafe fn call<R: Request>(request: R) -> Result<R::Output, Status> {
    // SAFETY: forwarded from the caller.
    let raw = unsafe { hypercall_number(R::CALL as u64, request.to_args()) };
    decode_result(raw as u64)
}

/// Issues hypercall `number` with five raw arguments and returns `rax` as a
/// signed value (negative values are a [`Status`]): for probing numbers and
/// argument registers no [`Request`] describes (the hypervisor answers an
/// unknown number with `UnknownHypercall`). Use [`call`] otherwise.
///
/// # Safety
///
/// As for [`call`].
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
