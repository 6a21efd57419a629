//! `abi_version()` and `start_info(ptr, len)`: which ABI the hypervisor
//! speaks, who the domain is and what it was given.

use shared_abi::Status;
use shared_abi::hypercall::request::{self, AbiVersion};
use shared_abi::start_info::{StartInfo, fill_padded};

use crate::domain::Domain;
use crate::domain::table::DomainTable;
use crate::mm::address::GuestVirtAddr;

/// `abi_version()`: the ABI version. Touches no domain (the null call).
pub(super) fn abi_version(_: &mut DomainTable, _: AbiVersion) -> Result<u32, Status> {
    Ok(shared_abi::ABI_VERSION)
}

/// Writes the domain's [`StartInfo`] to guest `ptr`: all of it, or its
/// first [`StartInfo::MIN_LEN`] bytes for a buffer that holds only those
/// (guests built before `restarts` existed); a shorter `len` is refused.
/// Returns the number of bytes written.
pub(super) fn start_info(
    domain: &mut Domain,
    request::StartInfo { ptr, len }: request::StartInfo,
) -> Result<u64, Status> {
    if len < StartInfo::MIN_LEN as u64 {
        return Err(Status::BufferTooSmall);
    }
    let whole = core::mem::size_of::<StartInfo>() as u64;
    // A buffer too short for the whole struct gets the part every ABI
    // version has, never a field cut in two.
    let size = if len >= whole {
        whole
    } else {
        StartInfo::MIN_LEN as u64
    };
    let mut info = StartInfo::zeroed();
    info.abi_version = shared_abi::ABI_VERSION;
    info.domain_id = domain.id();
    info.memory_bytes = domain.memory_bytes();
    fill_padded(&mut info.name, domain.name());
    fill_padded(&mut info.args, domain.args());
    info.restarts = domain.restarts();
    domain.write_guest(GuestVirtAddr(ptr), &info.as_bytes()[..size as usize])?;
    Ok(size)
}
