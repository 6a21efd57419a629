//! `start_info(ptr, len)`: who the domain is and what it was given.

use shared_abi::Status;
use shared_abi::start_info::{StartInfo, fill_padded};

use crate::domain::Domain;
use crate::mm::address::GuestVirtAddr;

/// Writes the domain's [`StartInfo`] to guest `ptr`; `len` must be at
/// least its size. Returns the number of bytes written.
pub fn start_info(domain: &Domain, ptr: u64, len: u64) -> Result<u64, Status> {
    let size = core::mem::size_of::<StartInfo>() as u64;
    if len < size {
        return Err(Status::BufferTooSmall);
    }
    let mut info = StartInfo::zeroed();
    info.abi_version = shared_abi::ABI_VERSION;
    info.domain_id = domain.id();
    info.memory_bytes = domain.memory_bytes();
    fill_padded(&mut info.name, domain.name());
    fill_padded(&mut info.args, domain.args());
    domain.write_guest(GuestVirtAddr(ptr), info.as_bytes())?;
    Ok(size)
}
