//! The shell's file commands, on the volume of [`crate::fs::volume`]:
//! listing and reading (`ls`, `cat`, `sum`), changing (`write`, `append`,
//! `fill`, `truncate`, `rm`, `mkdir`, `rmdir`) and `sync`.
//!
//! Changes stay in the volume's block cache until `sync` (or until the
//! cache holds too much). Each command prints nothing on success but
//! `sync` and `sum`, and one line `PATH: error` on failure. Files are read
//! and written a chunk at a time, the volume locked for each chunk only.

use alloc::format;
use alloc::string::String;
use alloc::vec;

use crate::drivers::console;
use crate::fs::{self, FileId, FsError, Volume};
use crate::println;

/// The commands of this file, as `help` lists them.
const HELP: [(&str, &str); 11] = [
    ("ls [PATH]", "list a directory of the disk's filesystem"),
    ("cat PATH", "print a file"),
    ("sum PATH", "FNV-1a checksum of a file"),
    ("write PATH TEXT", "make PATH hold TEXT and a newline"),
    ("append PATH TEXT", "add TEXT and a newline to PATH"),
    ("fill PATH BYTES", "add BYTES bytes of a pattern to PATH"),
    ("truncate PATH SIZE", "cut or extend PATH to SIZE bytes"),
    ("rm PATH", "remove a file"),
    ("mkdir PATH", "make a directory"),
    ("rmdir PATH", "remove an empty directory"),
    ("sync", "write every change to the disk"),
];

/// Bytes read or written per step.
const CHUNK: usize = 16 * 1024;

/// Whether `command` is one of this file's.
pub fn handles(command: &str) -> bool {
    HELP.iter()
        .any(|(usage, _)| usage.split(' ').next() == Some(command))
}

/// Prints this file's lines of `help`.
pub fn help() {
    for (usage, what) in HELP {
        println!("  {usage:<19} {what}");
    }
}

fn absolute(path: &str) -> String {
    match path.starts_with('/') {
        true => path.into(),
        false => format!("/{path}"),
    }
}

/// Runs `command` with its arguments `rest`.
pub fn execute(command: &str, rest: &str) {
    let rest = rest.trim();
    let (path, argument) = rest.split_once(' ').unwrap_or((rest, ""));
    let path = absolute(path);
    if fs::volume().is_none() {
        println!("no filesystem");
        return;
    }
    let result = match command {
        "ls" => list(&path),
        "cat" => read(&path, true),
        "sum" => read(&path, false),
        "write" => write(&path, argument, true),
        "append" => write(&path, argument, false),
        "fill" => fill(&path, argument),
        "truncate" => number(argument).and_then(|size| {
            let mut volume = locked()?;
            let file = volume.lookup(&path)?;
            volume.truncate(file, size)
        }),
        "rm" => locked().and_then(|mut volume| volume.unlink(&path)),
        "mkdir" => locked().and_then(|mut volume| volume.mkdir(&path)),
        "rmdir" => locked().and_then(|mut volume| volume.rmdir(&path)),
        _ => locked()
            .and_then(|mut volume| volume.sync())
            .map(|()| println!("synced")),
    };
    if let Err(error) = result {
        match command {
            "sync" => println!("sync: {error}"),
            _ => println!("{path}: {error}"),
        }
    }
}

/// Syncs the mounted volume, if any, before the domain ends; says so only
/// when it fails.
pub fn sync_before_shutdown() {
    if let Some(mut volume) = fs::volume()
        && let Err(error) = volume.sync()
    {
        println!("sync: {error}");
    }
}

fn locked() -> Result<spin::MutexGuard<'static, Volume>, FsError> {
    fs::volume().ok_or(FsError::NotFound)
}

fn number(text: &str) -> Result<u64, FsError> {
    text.trim()
        .parse()
        .map_err(|_| FsError::Invalid(format!("`{}` is not a number of bytes", text.trim())))
}

fn list(path: &str) -> Result<(), FsError> {
    let entries = locked()?.list(path)?;
    for entry in entries {
        println!("{}{}", entry.name, if entry.directory { "/" } else { "" });
    }
    Ok(())
}

/// Streams the file at `path` to the console (`cat`) or through FNV-1a
/// (`sum`), a chunk at a time, so any size can be read.
fn read(path: &str, print: bool) -> Result<(), FsError> {
    let file = locked()?.lookup(path)?;
    let mut chunk = vec![0u8; CHUNK];
    let mut hash = crate::checksum::Fnv1a::new();
    let mut total = 0u64;
    loop {
        let count = locked()?
            .read_at(file, total, &mut chunk)
            .inspect_err(|_| {
                // Whatever was printed ends its line before the error's.
                if print && total > 0 {
                    println!();
                }
            })?;
        if count == 0 {
            break;
        }
        total += count as u64;
        match print {
            true => console::write(&chunk[..count]),
            false => hash.update(&chunk[..count]),
        }
    }
    if !print {
        println!("fnv1a {:016x} {total} bytes {path}", hash.value());
    }
    Ok(())
}

/// The file at `path`, created if missing; emptied when `replace`.
fn open(volume: &mut Volume, path: &str, replace: bool) -> Result<FileId, FsError> {
    match volume.lookup(path) {
        Ok(file) if replace => volume.truncate(file, 0).map(|()| file),
        Ok(file) => Ok(file),
        Err(FsError::NotFound) => volume.create(path),
        Err(error) => Err(error),
    }
}

/// Writes `data` at the end of `file`; a short write (space ran out) is
/// [`FsError::NoSpace`].
fn append_bytes(volume: &mut Volume, file: FileId, data: &[u8]) -> Result<(), FsError> {
    let end = volume.metadata(file)?.size;
    match volume.write_at(file, end, data)? {
        written if written == data.len() => Ok(()),
        _ => Err(FsError::NoSpace),
    }
}

/// `write` (replacing) or `append`: TEXT and a newline.
fn write(path: &str, text: &str, replace: bool) -> Result<(), FsError> {
    let mut volume = locked()?;
    let file = open(&mut volume, path, replace)?;
    append_bytes(&mut volume, file, format!("{text}\n").as_bytes())
}

/// Appends `bytes` bytes (`0123456789` repeated, a newline every 64).
fn fill(path: &str, bytes: &str) -> Result<(), FsError> {
    let mut left = number(bytes)?;
    let file = open(&mut *locked()?, path, false)?;
    let mut chunk = vec![0u8; CHUNK];
    for (index, byte) in chunk.iter_mut().enumerate() {
        *byte = if index % 64 == 63 {
            b'\n'
        } else {
            b'0' + (index % 10) as u8
        };
    }
    while left > 0 {
        let take = left.min(CHUNK as u64) as usize;
        append_bytes(&mut *locked()?, file, &chunk[..take])?;
        left -= take as u64;
    }
    Ok(())
}
