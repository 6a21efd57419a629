//! Copying to and from a process's memory, with every user pointer
//! checked.
//!
//! The kernel never dereferences a user pointer: it walks the process's
//! own page tables for every page a buffer touches, accepts only pages
//! below the user-space top that are user-accessible at every level (and
//! writable, for a write), and copies through its mapping of
//! guest-physical memory. A wild pointer is [`Error::BadAddress`], never a
//! fault in the kernel; and as the copy does not go through the process's
//! mappings, no stale translation can be used.

use alloc::string::String;
use alloc::vec::Vec;

use shared_abi::page_table::PageFlags;
use shared_abi::syscall::Error;

use super::UserAddress;
use super::address_space::AddressSpace;
use crate::memory::phys_to_virt;

const PAGE: u64 = 4096;

/// Calls `each(frame_address, offset_in_buffer, length)` for each piece of
/// `[address, address + length)` within one page, after checking the
/// whole range first: nothing is touched unless all of it is good. The
/// range is walked twice rather than its pieces kept, so a long one costs
/// no allocation (the tables cannot change in between: the process is not
/// running).
fn pieces(
    space: &AddressSpace,
    address: u64,
    length: usize,
    write: bool,
    each: impl FnMut(u64, usize, usize),
) -> Result<(), Error> {
    walk(space, address, length, write, |_, _, _| {})?;
    walk(space, address, length, write, each)
}

/// Calls `each` for each piece of the range until a page is not the
/// process's ([`Error::BadAddress`]).
fn walk(
    space: &AddressSpace,
    address: u64,
    length: usize,
    write: bool,
    mut each: impl FnMut(u64, usize, usize),
) -> Result<(), Error> {
    let end = address
        .checked_add(length as u64)
        .ok_or(Error::BadAddress)?;
    let mut at = address;
    while at < end {
        let (phys, flags) = space.translate(UserAddress(at)).ok_or(Error::BadAddress)?;
        if write && !flags.contains(PageFlags::WRITABLE) {
            return Err(Error::BadAddress);
        }
        let piece = (PAGE - at % PAGE).min(end - at);
        each(phys, (at - address) as usize, piece as usize);
        at += piece;
    }
    Ok(())
}

/// Checks that `[address, address + length)` is the process's memory
/// (writable, with `write`), without copying anything.
pub fn check(space: &AddressSpace, address: u64, length: usize, write: bool) -> Result<(), Error> {
    walk(space, address, length, write, |_, _, _| {})
}

/// Copies `length` bytes from the process's `address`.
pub fn copy_in(space: &AddressSpace, address: u64, length: usize) -> Result<Vec<u8>, Error> {
    let mut bytes = alloc::vec![0u8; length];
    pieces(space, address, length, false, |phys, offset, piece| {
        // SAFETY: `phys` is a frame of this guest (the process's page, in
        // its own tables), reached through the physical-memory mapping;
        // `piece` stays within that page.
        let source = unsafe { core::slice::from_raw_parts(phys_to_virt(phys), piece) };
        bytes[offset..offset + piece].copy_from_slice(source);
    })?;
    Ok(bytes)
}

/// Copies `bytes` to the process's `address` (which must be writable).
pub fn copy_out(space: &AddressSpace, address: u64, bytes: &[u8]) -> Result<(), Error> {
    pieces(space, address, bytes.len(), true, |phys, offset, piece| {
        // SAFETY: as in `copy_in`, and the page is writable for the
        // process, so it is one of its own data pages.
        let target = unsafe { core::slice::from_raw_parts_mut(phys_to_virt(phys), piece) };
        target.copy_from_slice(&bytes[offset..offset + piece]);
    })
}

/// Copies a string of `length` bytes (at most `limit`) from `address`.
pub fn copy_string(
    space: &AddressSpace,
    address: u64,
    length: u64,
    limit: usize,
) -> Result<String, Error> {
    if length > limit as u64 {
        return Err(Error::InvalidArgument);
    }
    let bytes = copy_in(space, address, length as usize)?;
    String::from_utf8(bytes).map_err(|_| Error::InvalidArgument)
}

/// Copies a `u64` from `address`.
pub fn copy_u64(space: &AddressSpace, address: u64) -> Result<u64, Error> {
    let bytes = copy_in(space, address, 8)?;
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes);
    Ok(u64::from_le_bytes(word))
}
