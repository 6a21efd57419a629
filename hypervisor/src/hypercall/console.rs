//! The console calls: `console_write(ptr, len)`, the early, unbuffered
//! console (see [`crate::console`]); the console server's `console_read`
//! and `console_command`; and `domain_name`. `console_attach` and
//! `console_input` are retired (ABI 4.0): the split console's rings are
//! granted to the console server, which drains and fills them itself.

use shared_abi::Status;
use shared_abi::console_feed::ConsoleCommand;
use shared_abi::hypercall::CONSOLE_WRITE_MAX;
use shared_abi::hypercall::request::{
    ConsoleAttach, ConsoleCommand as Command, ConsoleInput, ConsoleRead, ConsoleWrite, DomainName,
};

use crate::domain::Domain;
use crate::domain::table::DomainTable;
use crate::mm::address::GuestVirtAddr;

/// Most bytes `console_read` moves in one call.
const TRANSFER_MAX: usize = CONSOLE_WRITE_MAX as usize;

/// Copies `len` bytes from guest `ptr` and prints them, line by line,
/// prefixed with the domain's name. Returns the number of bytes written,
/// or `None` while the console server is behind (the caller waits its
/// turn and makes the call again: the console paces it, as a slow
/// terminal would, and nothing is lost).
pub(super) fn write(
    domain: &mut Domain,
    ConsoleWrite { ptr, len }: ConsoleWrite,
) -> Option<Result<u64, Status>> {
    if len > CONSOLE_WRITE_MAX {
        return Some(Err(Status::InvalidArgument));
    }
    if crate::console::must_wait(domain.id()) {
        return None;
    }
    let mut buffer = [0u8; CONSOLE_WRITE_MAX as usize];
    let bytes = &mut buffer[..len as usize];
    if let Err(status) = domain.read_guest(GuestVirtAddr(ptr), bytes) {
        return Some(Err(status));
    }
    crate::console::write_early(domain, bytes);
    Some(Ok(len))
}

/// Retired: answers `UNKNOWN_HYPERCALL`, as a number no call has would.
pub(super) fn attach(_: &mut Domain, _: ConsoleAttach) -> Result<(), Status> {
    Err(Status::UnknownHypercall)
}

/// `console_read(ptr, len)`: the console's server has shown what its last
/// read returned, and is lent the whole records now queued that fit (at
/// most 4096 bytes). If they cannot be written to its memory they are not
/// lent (they stay queued: it sees `BAD_ADDRESS` and may read them again).
pub(super) fn read(
    domain: &mut Domain,
    ConsoleRead { ptr, len }: ConsoleRead,
) -> Result<u64, Status> {
    let room = usize::try_from(len).map_or(TRANSFER_MAX, |len| len.min(TRANSFER_MAX));
    let mut buffer = [0u8; TRANSFER_MAX];
    let bytes = crate::console::read_feed(domain.id(), &mut buffer[..room])?;
    if let Err(status) = domain.write_guest(GuestVirtAddr(ptr), &buffer[..bytes]) {
        crate::console::unlend_feed();
        return Err(status);
    }
    Ok(bytes as u64)
}

/// Retired: answers `UNKNOWN_HYPERCALL`, as a number no call has would.
pub(super) fn input(_: &mut DomainTable, _: ConsoleInput) -> Result<u64, Status> {
    Err(Status::UnknownHypercall)
}

/// `console_command(command, focus)`: what the console's server cannot do
/// itself.
pub(super) fn command(table: &mut DomainTable, request: Command) -> Result<(), Status> {
    let Command { command, focus } = request;
    if !crate::console::is_server(table.caller().id()) {
        return Err(Status::Denied);
    }
    let command = ConsoleCommand::from_number(command).ok_or(Status::InvalidArgument)?;
    let focus = u32::try_from(focus).map_err(|_| Status::InvalidArgument)?;
    crate::console::command(table, command, focus);
    Ok(())
}

/// `domain_name(domain, ptr, len)`: copies a running domain's name (cut to
/// `len`); returns its whole length.
pub(super) fn name(table: &mut DomainTable, request: DomainName) -> Result<u64, Status> {
    let DomainName { domain, ptr, len } = request;
    let mut name = [0u8; shared_abi::start_info::NAME_LEN];
    let whole = {
        let target = live(table, domain)?.name().as_bytes();
        let whole = target.len().min(name.len());
        name[..whole].copy_from_slice(&target[..whole]);
        whole
    };
    let copied = usize::try_from(len).map_or(whole, |len| len.min(whole));
    table
        .caller()
        .write_guest(GuestVirtAddr(ptr), &name[..copied])?;
    Ok(whole as u64)
}

/// The running domain `id`: `INVALID_ARGUMENT` for any other number.
fn live(table: &mut DomainTable, id: u64) -> Result<&mut Domain, Status> {
    let id = u32::try_from(id).map_err(|_| Status::InvalidArgument)?;
    table.domain(id).ok_or(Status::InvalidArgument)
}
