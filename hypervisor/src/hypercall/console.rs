//! The console calls: `console_write(ptr, len)`, the early, unbuffered
//! console, and `console_attach(gpa)`, which connects the split console
//! (served by [`crate::console`]).

use shared_abi::Status;
use shared_abi::hypercall::CONSOLE_WRITE_MAX;
use shared_abi::hypercall::request::{ConsoleAttach, ConsoleWrite};

use crate::domain::Domain;
use crate::mm::address::GuestVirtAddr;

/// Copies `len` bytes from guest `ptr` and prints them, line by line,
/// prefixed with the domain's name. Returns the number of bytes written.
pub(super) fn write(
    domain: &mut Domain,
    ConsoleWrite { ptr, len }: ConsoleWrite,
) -> Result<u64, Status> {
    if len > CONSOLE_WRITE_MAX {
        return Err(Status::InvalidArgument);
    }
    let mut buffer = [0u8; CONSOLE_WRITE_MAX as usize];
    let bytes = &mut buffer[..len as usize];
    domain.read_guest(GuestVirtAddr(ptr), bytes)?;
    crate::console::write_early(domain, bytes);
    Ok(len)
}

/// Connects the split console rings in the domain's page at `gpa`.
pub(super) fn attach(
    domain: &mut Domain,
    ConsoleAttach { gpa }: ConsoleAttach,
) -> Result<(), Status> {
    crate::console::attach(domain, gpa)
}
