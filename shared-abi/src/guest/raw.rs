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
    // SAFETY: forwarded from the caller; the hypervisor preserves every
    // register but rax, rcx and r11.
    unsafe { crate::instruction::syscall(number, args) as i64 }
}
