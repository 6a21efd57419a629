//! Port I/O that may be refused: `in` and `out` of one byte, with a
//! general-protection handler that records the fault and resumes after the
//! instruction, so that a guest can show which ports it was given and
//! which it was not (the hypervisor refuses every port to every domain but
//! the driver domain, which it gives COM1's).

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

use shared_abi::trap::ExceptionFrame;

use crate::hv;

/// Vector of the general-protection fault.
const GENERAL_PROTECTION: u64 = 13;
/// No fault recorded.
const NONE: u64 = u64::MAX;

static FAULT: AtomicU64 = AtomicU64::new(NONE);

/// A refused port access: the exception's vector and error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The vector (13: general protection).
    pub vector: u64,
    /// Its error code.
    pub error_code: u64,
}

/// Records the fault and skips the one-byte `in al, dx` / `out dx, al`.
fn refused(frame: &mut ExceptionFrame) {
    FAULT.store(frame.error_code, Ordering::SeqCst);
    frame.rip += 1;
}

/// Installs the handler (once, before [`read`] and [`write`]).
pub fn init() -> Result<(), shared_abi::Status> {
    hv::trap::set_handler(GENERAL_PROTECTION, refused)
}

fn outcome<T>(value: T) -> Result<T, Refused> {
    match FAULT.swap(NONE, Ordering::SeqCst) {
        NONE => Ok(value),
        error_code => Err(Refused {
            vector: GENERAL_PROTECTION,
            error_code,
        }),
    }
}

/// `in al, dx` from `port`.
pub fn read(port: u16) -> Result<u8, Refused> {
    FAULT.store(NONE, Ordering::SeqCst);
    let value: u8;
    // SAFETY: a port read changes no memory of ours; if the port is
    // refused, the handler skips the instruction and `value` keeps what
    // `al` held.
    unsafe { asm!("in al, dx", in("dx") port, out("al") value, options(nostack)) };
    outcome(value)
}

/// `out dx, al` of `value` to `port`.
pub fn write(port: u16, value: u8) -> Result<(), Refused> {
    FAULT.store(NONE, Ordering::SeqCst);
    // SAFETY: as for `read`.
    unsafe { asm!("out dx, al", in("dx") port, in("al") value, options(nostack)) };
    outcome(())
}
