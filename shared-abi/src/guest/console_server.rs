//! Wrappers for serving the console (see [`crate::console_feed`]): the
//! domain that offered [`Kind::Console`](crate::backend::Kind::Console)
//! reads the feed with [`read`] and asks for what only the hypervisor
//! knows with [`command`]; any domain may ask a running domain's name
//! with [`domain_name`]. The split-console rings come to it as
//! connections ([`backend::accept`](super::backend::accept)).

use crate::Status;
use crate::console_feed::ConsoleCommand;
use crate::hypercall::request;

/// Moves the whole records at the front of the feed that fit `into` (at
/// most 4096 bytes are used); returns the bytes written (0: none queued).
///
/// # Errors
///
/// [`Status::Denied`] unless this domain serves the console;
/// [`Status::BufferTooSmall`] when the next record does not fit `into`
/// (a buffer of [`RECORD_MAX`](crate::console_feed::RECORD_MAX) bytes
/// always holds it).
#[inline]
pub fn read(into: &mut [u8]) -> Result<usize, Status> {
    let read = request::ConsoleRead {
        ptr: into.as_mut_ptr() as u64,
        len: into.len() as u64,
    };
    // SAFETY: the hypervisor writes within the `len` bytes of `into`,
    // exclusively borrowed for the call.
    unsafe { super::call(read) }.map(|bytes| bytes as usize)
}

/// Runs the operator's `command` (`focus`: the domain input goes to); a
/// list or counters come back as the hypervisor's lines in the feed.
///
/// # Errors
///
/// [`Status::Denied`] unless this domain serves the console.
#[inline]
pub fn command(command: ConsoleCommand, focus: u32) -> Result<(), Status> {
    let command = request::ConsoleCommand {
        command: command as u64,
        focus: focus.into(),
    };
    // SAFETY: no pointer.
    unsafe { super::call(command) }
}

/// Copies the name of running domain `domain` into `into` (cut to its
/// length); returns the name's whole length.
///
/// # Errors
///
/// [`Status::InvalidArgument`] when no domain `domain` runs.
#[inline]
pub fn domain_name(domain: u32, into: &mut [u8]) -> Result<usize, Status> {
    let name = request::DomainName {
        domain: domain.into(),
        ptr: into.as_mut_ptr() as u64,
        len: into.len() as u64,
    };
    // SAFETY: the hypervisor writes within the `len` bytes of `into`,
    // exclusively borrowed for the call.
    unsafe { super::call(name) }.map(|len| len as usize)
}
