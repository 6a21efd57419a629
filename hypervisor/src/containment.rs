//! Reporting a guest that raised an exception it cannot handle: one line
//! naming the domain, the instruction address and the cause (for a
//! privileged instruction, which one; for a page fault, the address and the
//! guest's view of why).

use core::fmt::Write;

use crate::arch::x86_64::exception;
use crate::domain::Domain;
use crate::domain::trap_delivery::Undeliverable;
use crate::instruction::{MAX_INSTRUCTION_BYTES, privileged_instruction};
use crate::log::LineBuffer;
use crate::mm::address::GuestVirtAddr;

/// Logs why `domain` is being stopped: an exception it has no handler for,
/// or whose handler could not be entered. What the domain had written to
/// its console ring is shown first, so its last lines come before the
/// report.
pub fn report(
    domain: &mut Domain,
    rip: u64,
    vector: u8,
    error_code: u64,
    fault_address: u64,
    why: Undeliverable,
) {
    crate::console::drain(domain);
    let mut cause = LineBuffer::new();
    let _ = write!(cause, "{}", exception::name(vector));
    match vector {
        exception::GENERAL_PROTECTION | 6 => {
            let mut code = [0u8; MAX_INSTRUCTION_BYTES];
            let fetched = domain.fetch_instruction(GuestVirtAddr(rip), &mut code);
            match privileged_instruction(&code[..fetched]) {
                Some(instruction) => {
                    let _ = write!(cause, " (privileged instruction {instruction})");
                }
                None if error_code != 0 => {
                    let _ = write!(cause, " (error {error_code:#x})");
                }
                None => {}
            }
        }
        exception::PAGE_FAULT => {
            let _ = write!(
                cause,
                " at {fault_address:#x} ({})",
                exception::page_fault_cause(error_code)
            );
        }
        _ if exception::has_error_code(vector) => {
            let _ = write!(cause, " (error {error_code:#x})");
        }
        _ => {}
    }
    match why {
        Undeliverable::NoHandler => {}
        Undeliverable::BadStack => {
            let _ = write!(cause, "; its handler could not be entered (stack unusable)");
        }
        Undeliverable::HandlerFaulted => {
            let _ = write!(cause, "; its handler faulted while being entered");
        }
    }
    let cause = core::str::from_utf8(cause.as_bytes()).unwrap_or("?");
    log::warn!(
        "domain {} '{}' stopped at rip {rip:#x}: {cause}",
        domain.id(),
        domain.name()
    );
}
