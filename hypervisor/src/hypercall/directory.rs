//! The backend directory's calls: `backend_offer` and `backend_accept` for
//! the driver domain's backends, `backend_domain` and `frontend_connect`
//! for frontends (see `crate::directory`). None waits: a connection is a
//! record queued for the backend and an event raised in it
//! (`Virq::Backend`, or `Virq::Console` for the console server, which
//! hears of everything console through that one).

use shared_abi::Status;
use shared_abi::backend::{Connection, Kind};
use shared_abi::event::Virq;
use shared_abi::grant::GrantRef;
use shared_abi::hypercall::request::{BackendAccept, BackendDomain, BackendOffer, FrontendConnect};

use crate::directory::{self, DIRECTORY};
use crate::domain::table::DomainTable;
use crate::event::ports::Port;
use crate::mm::address::{GuestVirtAddr, PAGE_SIZE};

/// A kind from a register: `INVALID_ARGUMENT` unless it is one.
fn kind(number: u64) -> Result<Kind, Status> {
    Kind::from_number(number).ok_or(Status::InvalidArgument)
}

/// `backend_offer(kind)`: the driver domain becomes the backend of `kind`.
#[inline]
pub(super) fn offer(
    table: &mut DomainTable,
    BackendOffer { kind: raw }: BackendOffer,
) -> Result<(), Status> {
    let caller = table.caller();
    if !caller.is_driver() {
        return Err(Status::Denied);
    }
    let me = caller.id();
    let kind = kind(raw)?;
    DIRECTORY.lock().offer(kind, me)?;
    if kind == Kind::Console {
        crate::console::serve(me);
    }
    log::info!("directory: domain {me} serves as the {kind:?} backend");
    directory::announce(table, me);
    Ok(())
}

/// `backend_domain(kind)`: the live backend of `kind`.
#[inline]
pub(super) fn domain(
    _table: &mut DomainTable,
    BackendDomain { kind: raw }: BackendDomain,
) -> Result<u32, Status> {
    DIRECTORY.lock().backend(kind(raw)?).ok_or(Status::NotReady)
}

/// `frontend_connect(kind, reference, port)`: queues the caller's
/// connection for the backend of `kind` (with the disk region the
/// hypervisor assigned it, for a block device) and tells the backend. A
/// console's ring page (the page of grant `reference`, which must be to
/// the console server and writable) is remembered, so that what is left in
/// it when the domain stops is passed on.
#[inline]
pub(super) fn connect(table: &mut DomainTable, request: FrontendConnect) -> Result<(), Status> {
    let FrontendConnect {
        kind: raw,
        reference,
        port,
    } = request;
    let kind = kind(raw)?;
    let caller = table.caller();
    let Ok(Port::Unbound { remote }) = caller.ports().get(port) else {
        return Err(Status::BadPort);
    };
    let backend = DIRECTORY.lock().backend(kind).ok_or(Status::NotReady)?;
    if remote != backend {
        return Err(Status::BadPort);
    }
    let reference = u32::try_from(reference).map_err(|_| Status::InvalidArgument)?;
    // A block frontend's disk region; a console's ring page. The console
    // server hears of its connections with its feed.
    let (first_sector, sectors, ring, virq) = match kind {
        Kind::Block => {
            let disk = caller.disk();
            if disk.sectors == 0 {
                return Err(Status::NotReady);
            }
            (disk.first_sector, disk.sectors, None, Virq::Backend)
        }
        Kind::Console => {
            let grant = caller
                .grants()
                .check(GrantRef::from_raw(reference.into()), backend, true)
                .map_err(|_| Status::InvalidArgument)?;
            let page = caller.shared_page(grant.frame() * PAGE_SIZE)?;
            (0, 0, Some(page), Virq::Console)
        }
    };
    let connection = Connection {
        kind: kind as u32,
        frontend: caller.id(),
        reference,
        port: port as u32,
        first_sector,
        sectors,
    };
    DIRECTORY.lock().connect(kind, connection)?;
    if let Some(page) = ring {
        caller.console_mut().connected(page);
    }
    if let Some(backend) = table.domain(backend) {
        backend.raise_virq(virq);
    }
    Ok(())
}

/// `backend_accept(kind, ptr, len)`: the pending connections to the
/// caller's backend of `kind` that fit in the `len` bytes at `ptr`, taken
/// only once they are written.
#[inline]
pub(super) fn accept(
    table: &mut DomainTable,
    BackendAccept {
        kind: raw,
        ptr,
        len,
    }: BackendAccept,
) -> Result<u64, Status> {
    let kind = kind(raw)?;
    let caller = table.caller();
    let me = caller.id();
    let room =
        usize::try_from(len / core::mem::size_of::<Connection>() as u64).unwrap_or(usize::MAX);
    let (connections, count) = DIRECTORY.lock().peek(me, kind, room)?;
    if count == 0 {
        return Ok(0);
    }
    // SAFETY: `Connection` is `repr(C)` of integers without padding; the
    // bytes of the first `count` records are read only.
    let bytes = unsafe {
        core::slice::from_raw_parts(
            connections.as_ptr().cast::<u8>(),
            count * core::mem::size_of::<Connection>(),
        )
    };
    caller.write_guest(GuestVirtAddr(ptr), bytes)?;
    DIRECTORY.lock().take(me, kind, count);
    Ok(count as u64)
}
