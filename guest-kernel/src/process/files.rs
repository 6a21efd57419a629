//! The system calls on files, over the mounted volume ([`crate::fs::volume`]):
//! the per-process table of open files and the glue to the file-system
//! API.
//!
//! A descriptor keeps the file, its offset and the flags it was opened
//! with; every call takes the volume's lock for its own duration only (a
//! process is never switched out inside a call, so the lock is never held
//! across a switch). `close` writes the volume's changes out (`sync`).

use alloc::string::String;
use alloc::vec::Vec;

use ext4_view::Ext4Error;
use shared_abi::syscall::{Error, open_flags};
use spin::MutexGuard;

use crate::fs::{FileId, FsError, Kind, Volume};

/// Most files a process has open at once.
const MAX_OPEN: usize = 16;
/// The first descriptor of a file (0, 1, 2 are the console).
const FIRST_FILE: u64 = 3;
/// Largest program the loader reads (the programs are tens of KiB; this is
/// half the kernel's reserve of frames, which the copy must not use up).
const MAX_PROGRAM_BYTES: u64 = 1 << 20;

fn volume() -> Result<MutexGuard<'static, Volume>, Error> {
    crate::fs::volume().ok_or(Error::NotFound)
}

fn error(error: FsError) -> Error {
    match error {
        FsError::NotFound | FsError::Filesystem(Ext4Error::NotFound) => Error::NotFound,
        FsError::IsDirectory | FsError::Filesystem(Ext4Error::IsADirectory) => Error::IsDirectory,
        FsError::NotDirectory | FsError::Filesystem(Ext4Error::NotADirectory) => {
            Error::NotDirectory
        }
        FsError::Exists => Error::Exists,
        FsError::NotEmpty => Error::NotEmpty,
        FsError::Busy => Error::Busy,
        FsError::NoSpace | FsError::TooLarge => Error::NoSpace,
        FsError::ReadOnly(_) | FsError::Unsupported(_) => Error::Unsupported,
        FsError::NameTooLong
        | FsError::Invalid(_)
        | FsError::Filesystem(Ext4Error::NotAbsolute | Ext4Error::MalformedPath) => {
            Error::InvalidArgument
        }
        _ => Error::Io,
    }
}

/// One open file.
struct OpenFile {
    file: FileId,
    offset: u64,
    flags: u64,
}

/// A process's open files.
#[derive(Default)]
pub struct FileTable {
    open: Vec<Option<OpenFile>>,
}

/// Reads the whole program at `path`.
pub fn read_program(path: &str) -> Result<Vec<u8>, Error> {
    let mut volume = volume()?;
    let file = volume.lookup(path).map_err(error)?;
    let metadata = volume.metadata(file).map_err(error)?;
    if metadata.kind != Kind::File || metadata.size > MAX_PROGRAM_BYTES {
        return Err(Error::NotExecutable);
    }
    // The copy is on the kernel's heap, whose pages come on first touch
    // from any free frame: it is paid for from what processes may take,
    // so that spawning a large file when processes hold all the rest
    // cannot leave the kernel without frames for its own heap.
    if metadata.size.div_ceil(4096) > super::address_space::frames_for_processes() {
        return Err(Error::NoMemory);
    }
    let mut bytes = alloc::vec![0u8; metadata.size as usize];
    let mut filled = 0;
    while filled < bytes.len() {
        match volume.read_at(file, filled as u64, &mut bytes[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(failure) => return Err(error(failure)),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

/// Whether `path` names a regular file.
pub fn is_file(path: &str) -> bool {
    let Some(volume) = crate::fs::volume() else {
        return false;
    };
    volume
        .lookup(path)
        .and_then(|file| volume.metadata(file))
        .is_ok_and(|metadata| metadata.kind == Kind::File)
}

/// Opens `path` with `flags`; returns the descriptor.
pub fn open(files: &mut FileTable, path: &str, flags: u64) -> Result<u64, Error> {
    let access = open_flags::READ | open_flags::WRITE;
    let writes = open_flags::CREATE | open_flags::TRUNCATE | open_flags::APPEND;
    if flags & !open_flags::ALL != 0
        || flags & access == 0
        || (flags & writes != 0 && flags & open_flags::WRITE == 0)
    {
        return Err(Error::InvalidArgument);
    }
    let slot = match files.open.iter().position(Option::is_none) {
        Some(slot) => slot,
        None if files.open.len() < MAX_OPEN => {
            files.open.push(None);
            files.open.len() - 1
        }
        None => return Err(Error::LimitReached),
    };
    let mut volume = volume()?;
    let file = match volume.lookup(path) {
        Err(FsError::NotFound | FsError::Filesystem(Ext4Error::NotFound))
            if flags & open_flags::CREATE != 0 =>
        {
            volume.create(path)
        }
        other => other,
    }
    .map_err(error)?;
    if volume.metadata(file).map_err(error)?.kind == Kind::Directory {
        return Err(Error::IsDirectory);
    }
    if flags & open_flags::TRUNCATE != 0 {
        volume.truncate(file, 0).map_err(error)?;
    }
    volume.hold(file);
    files.open[slot] = Some(OpenFile {
        file,
        offset: 0,
        flags,
    });
    Ok(FIRST_FILE + slot as u64)
}

fn file(files: &mut FileTable, fd: u64, access: u64) -> Result<&mut OpenFile, Error> {
    fd.checked_sub(FIRST_FILE)
        .and_then(|slot| files.open.get_mut(slot as usize))
        .and_then(Option::as_mut)
        .filter(|open| open.flags & access != 0)
        .ok_or(Error::BadDescriptor)
}

/// Reads up to `length` bytes from `fd` at its offset.
pub fn read(files: &mut FileTable, fd: u64, length: usize) -> Result<Vec<u8>, Error> {
    let open = file(files, fd, open_flags::READ)?;
    let mut bytes = alloc::vec![0u8; length];
    let count = volume()?
        .read_at(open.file, open.offset, &mut bytes)
        .map_err(error)?;
    open.offset += count as u64;
    bytes.truncate(count);
    Ok(bytes)
}

/// Writes `bytes` to `fd` at its offset (at the end, when opened to
/// append).
pub fn write(files: &mut FileTable, fd: u64, bytes: &[u8]) -> Result<usize, Error> {
    let open = file(files, fd, open_flags::WRITE)?;
    let mut volume = volume()?;
    if open.flags & open_flags::APPEND != 0 {
        open.offset = volume.metadata(open.file).map_err(error)?.size;
    }
    let count = volume
        .write_at(open.file, open.offset, bytes)
        .map_err(error)?;
    open.offset += count as u64;
    match (count, bytes.len()) {
        (0, 1..) => Err(Error::NoSpace),
        _ => Ok(count),
    }
}

/// Closes `fd`, writing the volume's changes out.
pub fn close(files: &mut FileTable, fd: u64) -> Result<(), Error> {
    let open = file(files, fd, open_flags::READ | open_flags::WRITE)?;
    let (file, wrote) = (open.file, open.flags & open_flags::WRITE != 0);
    files.open[(fd - FIRST_FILE) as usize] = None;
    let mut volume = volume()?;
    volume.release(file);
    if wrote {
        volume.sync().map_err(error)?;
    }
    Ok(())
}

/// Closes every file of an ending process (its changes were written out
/// at each `close`; an unclosed file's writes reach the disk at the next
/// sync).
pub fn close_all(files: &mut FileTable) {
    let mut open = files.open.drain(..).flatten().peekable();
    if open.peek().is_some()
        && let Some(mut volume) = crate::fs::volume()
    {
        open.for_each(|file| volume.release(file.file));
    }
}

/// Removes the file at `path`.
pub fn unlink(path: &str) -> Result<(), Error> {
    let mut volume = volume()?;
    volume.unlink(path).map_err(error)?;
    volume.sync().map_err(error)
}

/// Makes the directory `path`.
pub fn mkdir(path: &str) -> Result<(), Error> {
    let mut volume = volume()?;
    volume.mkdir(path).map_err(error)?;
    volume.sync().map_err(error)
}

/// The entries of directory `path`, one per line, directories with `/`.
pub fn list(path: &str) -> Result<String, Error> {
    let mut text = String::new();
    for entry in volume()?.list(path).map_err(error)? {
        text.push_str(&entry.name);
        if entry.directory {
            text.push('/');
        }
        text.push('\n');
    }
    Ok(text)
}
