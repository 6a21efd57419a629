//! A mounted ext2/3/4 filesystem: path lookup that follows symbolic links,
//! directory listings, and files read in pieces.
//!
//! Mounting runs the checks of [`super::layout`] and then hands the disk to
//! `ext4-view`, which reads ext2, ext3 and ext4 (block maps and extents,
//! htree directories, metadata checksums when the filesystem has them) and
//! reports damaged structures as errors. Symbolic links are resolved here,
//! one component at a time, so that a link's size is checked before its
//! target is read and a chain of links stops after [`MAX_SYMLINK_HOPS`].

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use ext4_view::{Ext4, Ext4Error, File};

use super::disk::{Ext4Reader, ReadAt};
use super::error::FsError;
use super::layout::{self, Geometry};

/// Symbolic links followed in one lookup at most.
pub const MAX_SYMLINK_HOPS: usize = 8;
/// Longest symbolic link target accepted (a path, as Linux's `PATH_MAX`).
const MAX_TARGET: u64 = 4095;

/// A mounted filesystem.
pub struct Volume {
    fs: Ext4,
    geometry: Geometry,
}

/// An entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub name: String,
    pub directory: bool,
}

/// An open regular file, read from start to end.
pub struct FileReader {
    file: File,
}

fn join(parts: &[String]) -> String {
    let mut path = String::from("/");
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            path.push('/');
        }
        path.push_str(part);
    }
    path
}

impl Volume {
    /// Checks and mounts the filesystem on `disk`.
    pub fn mount(mut disk: impl ReadAt + 'static) -> Result<Self, FsError> {
        let geometry = layout::check(&mut disk)?;
        let fs = Ext4::load(Box::new(Ext4Reader(disk)))?;
        Ok(Self { fs, geometry })
    }

    /// What the mount checks found.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// `path` (absolute) with every symbolic link in it replaced by its
    /// target, and `.` and `..` removed.
    pub fn resolve(&self, path: &str) -> Result<String, FsError> {
        let mut pending: Vec<String> = path.split('/').rev().map(String::from).collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    resolved.pop();
                    continue;
                }
                _ => resolved.push(part),
            }
            // Every earlier component is a directory, not a link, so
            // `ext4-view` follows nothing here.
            let here = join(&resolved);
            let metadata = self.fs.symlink_metadata(here.as_str())?;
            if !metadata.is_symlink() {
                continue;
            }
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(FsError::SymlinkLoop);
            }
            let size = metadata.len();
            if size == 0 || size > MAX_TARGET {
                return Err(FsError::BadSymlink(size));
            }
            let target = self.fs.read_link(here.as_str())?;
            let target = target
                .to_str()
                .map_err(|_| FsError::Filesystem(Ext4Error::NotUtf8))?;
            resolved.pop();
            if target.starts_with('/') {
                resolved.clear();
            }
            pending.extend(target.split('/').rev().map(String::from));
        }
        Ok(join(&resolved))
    }

    /// The entries of the directory at `path`, `.` and `..` left out.
    pub fn list(&self, path: &str) -> Result<Vec<Entry>, FsError> {
        let path = self.resolve(path)?;
        let mut entries = Vec::new();
        for entry in self.fs.read_dir(path.as_str())? {
            let entry = entry?;
            let name = String::from_utf8_lossy(entry.file_name().as_ref()).into_owned();
            if name == "." || name == ".." {
                continue;
            }
            let directory = entry.file_type()?.is_dir();
            entries.push(Entry { name, directory });
        }
        entries.sort();
        Ok(entries)
    }

    /// Opens the regular file at `path`.
    pub fn open(&self, path: &str) -> Result<FileReader, FsError> {
        let path = self.resolve(path)?;
        let file = self.fs.open(path.as_str())?;
        let size = file.metadata().len();
        let limit = self.geometry.block_map_limit();
        if !self.geometry.extents && size > limit {
            return Err(FsError::Corrupt(format!(
                "file size {size} is more than the {limit} bytes a block map can address"
            )));
        }
        Ok(FileReader { file })
    }
}

impl FileReader {
    /// Size in bytes, as the inode says.
    pub fn size(&self) -> u64 {
        self.file.metadata().len()
    }

    /// Fills as much of `buffer` as the file has left; 0 at the end.
    pub fn read(&mut self, buffer: &mut [u8]) -> Result<usize, FsError> {
        let mut filled = 0;
        while filled < buffer.len() {
            match self.file.read_bytes(&mut buffer[filled..])? {
                0 => break,
                count => filled += count,
            }
        }
        Ok(filled)
    }
}
