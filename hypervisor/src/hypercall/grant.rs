//! Grant calls: `grant_access` and `grant_end` for the granter,
//! `grant_map`, `grant_unmap`, `grant_copy_from` and `grant_copy_to` for
//! the grantee. Every use of a grant is checked against the granter's
//! table (`grant::table`): the reference must name a live grant of that
//! granter to the caller, writable for a write. A mapped page is a foreign
//! frame of the grantee's memory (the shadow maps it read-only unless the
//! mapping is writable; the hypervisor never reaches it through the
//! grantee's addresses); a copy goes between the granter's frame and the
//! caller's own memory, never through a mapping.

use shared_abi::Status;
use shared_abi::grant::{
    ACCESS_FLAGS, COPY_ONLY, GrantRef, MAP_FLAGS, MAP_WRITE, READ_ONLY, window_address,
};
use shared_abi::hypercall::request::{
    GrantAccess, GrantCopyFrom, GrantCopyTo, GrantEnd, GrantMap, GrantUnmap,
};

use crate::domain::Domain;
use crate::domain::table::DomainTable;
use crate::grant::table::Access;
use crate::grant::window::Mapping;
use crate::mm::address::{GuestFrame, GuestPhysAddr, GuestVirtAddr, MachineAddr, PAGE_SIZE};
use crate::mm::direct_map::machine_ptr;
use crate::mm::shadow::Backing;

/// A domain id from a register: `BAD_PORT` unless it names a live domain.
fn live_domain(table: &mut DomainTable, domain: u64) -> Result<u32, Status> {
    let id = u32::try_from(domain).map_err(|_| Status::BadPort)?;
    table.domain(id).map(|d| d.id()).ok_or(Status::BadPort)
}

/// How the caller uses a granted page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    Map,
    Copy,
}

/// The machine address of the page grant `reference` of `granter` lends
/// to the caller (for writing when `write`): `DENIED` unless the grant is
/// live, names the caller and allows the access (a mapping needs a grant
/// that is not for copies only).
fn granted_page(
    table: &mut DomainTable,
    granter: u32,
    reference: GrantRef,
    write: bool,
    used: Use,
) -> Result<MachineAddr, Status> {
    let caller = table.caller().id();
    let granter = table.domain(granter).ok_or(Status::BadPort)?;
    let grant = granter.grants().check(reference, caller, write)?;
    if used == Use::Map && !grant.mappable() {
        return Err(Status::Denied);
    }
    granter
        .memory()
        .and_then(|memory| memory.machine_frame(GuestFrame(grant.frame())))
        .map(|frame| frame.start())
        .ok_or(Status::Denied)
}

/// `grant_access(domain, gpa, flags)`: lends the caller's page at `gpa`
/// to the live domain `domain` (not the caller); returns the reference.
#[inline]
pub(super) fn access(
    table: &mut DomainTable,
    GrantAccess { domain, gpa, flags }: GrantAccess,
) -> Result<u32, Status> {
    if flags & !ACCESS_FLAGS != 0 {
        return Err(Status::InvalidArgument);
    }
    let caller = table.caller();
    caller.shared_page(gpa)?;
    let me = caller.id();
    let grantee = live_domain(table, domain)?;
    if grantee == me {
        return Err(Status::InvalidArgument);
    }
    let frame = GuestPhysAddr(gpa).frame().number();
    let access = Access {
        writable: flags & READ_ONLY == 0,
        mappable: flags & COPY_ONLY == 0,
    };
    let reference = table.caller().grants_mut().grant(grantee, frame, access)?;
    u32::try_from(reference.raw()).map_err(|_| Status::LimitReached)
}

/// `grant_end(reference)`: the caller's grant ends (`BUSY` while mapped).
#[inline]
pub(super) fn end(domain: &mut Domain, GrantEnd { reference }: GrantEnd) -> Result<(), Status> {
    domain.grants_mut().end(GrantRef::from_raw(reference))
}

/// `grant_map(domain, reference, flags)`: maps the granted page into the
/// caller's window; returns its guest-physical address there.
#[inline]
pub(super) fn map(
    table: &mut DomainTable,
    GrantMap {
        domain,
        reference,
        flags,
    }: GrantMap,
) -> Result<u64, Status> {
    if flags & !MAP_FLAGS != 0 {
        return Err(Status::InvalidArgument);
    }
    let write = flags & MAP_WRITE != 0;
    let granter = live_domain(table, domain)?;
    let reference = GrantRef::from_raw(reference);
    let machine = granted_page(table, granter, reference, write, Use::Map)?;
    let caller = table.caller();
    let slot = caller.window_mut().insert(Mapping { granter, reference })?;
    let gpa = window_address(slot);
    let backing = Backing::foreign(machine.as_u64(), write);
    if caller
        .map_foreign(GuestPhysAddr(gpa).frame(), backing)
        .is_err()
    {
        caller.window_mut().remove(slot);
        return Err(Status::InvalidArgument);
    }
    if let Some(granter) = table.domain(granter) {
        granter.grants_mut().add_map(reference);
    }
    Ok(gpa)
}

/// `grant_unmap(gpa)`: removes the mapping at window address `gpa`.
#[inline]
pub(super) fn unmap(table: &mut DomainTable, GrantUnmap { gpa }: GrantUnmap) -> Result<(), Status> {
    let caller = table.caller();
    let (slot, _) = caller.window().at(gpa).ok_or(Status::InvalidArgument)?;
    let me = caller.id();
    crate::domain::grants::unmap_slot(table, me, slot);
    Ok(())
}

/// The granted bytes a copy touches: `len` bytes at `address` (reference
/// << 12 | offset) of `domain`'s page, checked; returns their machine
/// address.
fn copy_range(
    table: &mut DomainTable,
    domain: u64,
    address: u64,
    len: u64,
    write: bool,
) -> Result<MachineAddr, Status> {
    let (reference, offset) = GrantRef::from_copy_address(address);
    if len > PAGE_SIZE - offset {
        return Err(Status::InvalidArgument);
    }
    let granter = live_domain(table, domain)?;
    let page = granted_page(table, granter, reference, write, Use::Copy)?;
    Ok(MachineAddr(page.as_u64() + offset))
}

/// `grant_copy_from(domain, address, buffer, len)`: granted bytes to the
/// caller's memory at `buffer`.
#[inline]
pub(super) fn copy_from(table: &mut DomainTable, request: GrantCopyFrom) -> Result<(), Status> {
    let GrantCopyFrom {
        domain,
        address,
        buffer,
        len,
    } = request;
    let source = copy_range(table, domain, address, len, false)?;
    // SAFETY: `source` and the `len` bytes after it lie in one frame of the
    // granter's own memory (checked above), reached through the direct map;
    // the granter does not run during the call, and the caller's buffer is
    // translated to frames of the caller's own memory only, never this one.
    let bytes = unsafe { core::slice::from_raw_parts(machine_ptr(source), len as usize) };
    table.caller().write_guest(GuestVirtAddr(buffer), bytes)
}

/// `grant_copy_to(domain, address, buffer, len)`: the caller's bytes at
/// `buffer` into the granted page (a writable grant).
#[inline]
pub(super) fn copy_to(table: &mut DomainTable, request: GrantCopyTo) -> Result<(), Status> {
    let GrantCopyTo {
        domain,
        address,
        buffer,
        len,
    } = request;
    let target = copy_range(table, domain, address, len, true)?;
    // SAFETY: as in `copy_from`: `len` bytes of one frame of the granter,
    // which no other reference reaches during the call.
    let bytes = unsafe { core::slice::from_raw_parts_mut(machine_ptr(target), len as usize) };
    table.caller().read_guest(GuestVirtAddr(buffer), bytes)
}
