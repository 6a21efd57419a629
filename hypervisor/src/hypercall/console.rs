//! `console_write(ptr, len)`: the early, unbuffered console.

use shared_abi::Status;
use shared_abi::hypercall::CONSOLE_WRITE_MAX;

use crate::domain::Domain;
use crate::mm::address::GuestVirtAddr;

/// Copies `len` bytes from guest `ptr` and prints them, line by line,
/// prefixed with the domain's name. Returns the number of bytes written.
pub fn write(domain: &mut Domain, ptr: u64, len: u64) -> Result<u64, Status> {
    if len > CONSOLE_WRITE_MAX {
        return Err(Status::InvalidArgument);
    }
    let mut buffer = [0u8; CONSOLE_WRITE_MAX as usize];
    let bytes = &mut buffer[..len as usize];
    domain.read_guest(GuestVirtAddr(ptr), bytes)?;
    domain.console_write(bytes);
    Ok(len)
}
