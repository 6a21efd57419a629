//! The system calls on files, over the mounted filesystem: the per-process
//! table of open files, and the glue to the file-system API.
//!
//! The filesystem the kernel mounted is lent to the processes for the time
//! a program runs ([`lend`]); the volume is read-only for now, so calls
//! that would change it answer [`Error::Unsupported`], and the loader
//! reads programs through [`read_program`].

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicPtr, Ordering};

use ext4_view::Ext4Error;
use shared_abi::syscall::{Error, open_flags};

use crate::fs::error::FsError;
use crate::fs::volume::{FileReader, Volume};

/// Most files a process has open at once.
const MAX_OPEN: usize = 16;
/// The first descriptor of a file (0, 1, 2 are the console).
const FIRST_FILE: u64 = 3;
/// Largest program the loader reads.
const MAX_PROGRAM_BYTES: usize = 4 << 20;

static VOLUME: AtomicPtr<Volume> = AtomicPtr::new(core::ptr::null_mut());

/// Lends `volume` to the processes until the next call; `None` takes it
/// back. The caller keeps the volume alive and does not use it mutably
/// meanwhile (the kernel waits for its program while it is lent).
pub fn lend(volume: Option<&Volume>) {
    let pointer = volume.map_or(core::ptr::null_mut(), |v| core::ptr::from_ref(v).cast_mut());
    VOLUME.store(pointer, Ordering::SeqCst);
}

fn with_volume<R>(f: impl FnOnce(&Volume) -> Result<R, Error>) -> Result<R, Error> {
    let pointer = VOLUME.load(Ordering::SeqCst);
    if pointer.is_null() {
        return Err(Error::NotFound);
    }
    // SAFETY: `lend` was given a live reference that its caller keeps valid
    // (and unaliased by mutable borrows) until it takes it back.
    f(unsafe { &*pointer })
}

fn error(error: FsError) -> Error {
    match error {
        FsError::Filesystem(Ext4Error::NotFound) => Error::NotFound,
        FsError::Filesystem(Ext4Error::IsADirectory) => Error::IsDirectory,
        FsError::Filesystem(Ext4Error::NotADirectory) => Error::NotDirectory,
        FsError::Filesystem(Ext4Error::NotAbsolute | Ext4Error::MalformedPath) => {
            Error::InvalidArgument
        }
        _ => Error::Io,
    }
}

/// A process's open files.
#[derive(Default)]
pub struct FileTable {
    open: Vec<Option<FileReader>>,
}

/// Reads the whole program at `path`.
pub fn read_program(path: &str) -> Result<Vec<u8>, Error> {
    with_volume(|volume| {
        let mut file = volume.open(path).map_err(error)?;
        let size = usize::try_from(file.size()).unwrap_or(usize::MAX);
        if size > MAX_PROGRAM_BYTES {
            return Err(Error::NotExecutable);
        }
        let mut bytes = alloc::vec![0u8; size];
        let read = file.read(&mut bytes).map_err(error)?;
        bytes.truncate(read);
        Ok(bytes)
    })
}

/// Opens `path` with `flags`; returns the descriptor.
pub fn open(files: &mut FileTable, path: &str, flags: u64) -> Result<u64, Error> {
    if flags & !open_flags::ALL != 0 || flags & (open_flags::READ | open_flags::WRITE) == 0 {
        return Err(Error::InvalidArgument);
    }
    if flags != open_flags::READ {
        return Err(Error::Unsupported);
    }
    let reader = with_volume(|volume| volume.open(path).map_err(error))?;
    let slot = match files.open.iter().position(Option::is_none) {
        Some(slot) => slot,
        None if files.open.len() < MAX_OPEN => {
            files.open.push(None);
            files.open.len() - 1
        }
        None => return Err(Error::LimitReached),
    };
    files.open[slot] = Some(reader);
    Ok(FIRST_FILE + slot as u64)
}

fn file(files: &mut FileTable, fd: u64) -> Result<&mut FileReader, Error> {
    fd.checked_sub(FIRST_FILE)
        .and_then(|slot| files.open.get_mut(slot as usize))
        .and_then(Option::as_mut)
        .ok_or(Error::BadDescriptor)
}

/// Reads up to `length` bytes from `fd`.
pub fn read(files: &mut FileTable, fd: u64, length: usize) -> Result<Vec<u8>, Error> {
    let reader = file(files, fd)?;
    let mut bytes = alloc::vec![0u8; length.min(64 * 1024)];
    let count = reader.read(&mut bytes).map_err(error)?;
    bytes.truncate(count);
    Ok(bytes)
}

/// Writes `bytes` to `fd`.
pub fn write(files: &mut FileTable, fd: u64, _bytes: &[u8]) -> Result<usize, Error> {
    file(files, fd).and(Err(Error::Unsupported))
}

/// Closes `fd`.
pub fn close(files: &mut FileTable, fd: u64) -> Result<(), Error> {
    file(files, fd)?;
    files.open[(fd - FIRST_FILE) as usize] = None;
    Ok(())
}

/// Removes the file at `path`.
pub fn unlink(path: &str) -> Result<(), Error> {
    with_volume(|volume| {
        volume
            .open(path)
            .map_err(error)
            .and(Err(Error::Unsupported))
    })
}

/// Makes the directory `path`.
pub fn mkdir(_path: &str) -> Result<(), Error> {
    with_volume(|_| Err(Error::Unsupported))
}

/// The entries of directory `path`, one per line, directories with `/`.
pub fn list(path: &str) -> Result<String, Error> {
    with_volume(|volume| {
        let mut text = String::new();
        for entry in volume.list(path).map_err(error)? {
            text.push_str(&entry.name);
            if entry.directory {
                text.push('/');
            }
            text.push('\n');
        }
        Ok(text)
    })
}
