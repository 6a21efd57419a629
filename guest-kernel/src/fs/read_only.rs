//! Filesystems this kernel reads but does not write (ext3, ext4, and ext2
//! with features the `ext2` crate does not write), read through the
//! `ext4-view` crate: block maps and extents, htree directories, metadata
//! checksums, damaged structures reported as errors.
//!
//! `ext4-view` works by path, so a [`FileId`] here is a handle: the index
//! of the file's resolved path in a table that only grows (the filesystem
//! never changes, so a path keeps naming the same file). Symbolic links
//! are resolved here, one component at a time, so that a link's size is
//! checked before its target is read and a chain of links stops after
//! [`ext2::MAX_SYMLINK_HOPS`].

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use ext2::{Kind, MAX_SYMLINK_HOPS, MAX_TARGET};
use ext4_view::{Ext4, Ext4Error, FileType};

use super::entry::{Entry, FileId, Metadata};
use super::error::FsError;
use super::layout::Geometry;

/// A read-only filesystem and the handles handed out for it.
pub struct ReadOnly {
    fs: Ext4,
    geometry: Geometry,
    paths: Vec<String>,
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

impl ReadOnly {
    pub fn new(fs: Ext4, geometry: Geometry) -> Self {
        Self {
            fs,
            geometry,
            paths: Vec::new(),
        }
    }

    /// `path` (absolute) with every symbolic link in it replaced by its
    /// target, and `.` and `..` removed.
    fn resolve(&self, path: &str) -> Result<String, FsError> {
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

    fn path(&self, file: FileId) -> Result<&str, FsError> {
        let index = (file.0 as usize).wrapping_sub(1);
        self.paths
            .get(index)
            .map(String::as_str)
            .ok_or(FsError::NotFound)
    }

    pub fn lookup(&mut self, path: &str) -> Result<FileId, FsError> {
        let path = self.resolve(path)?;
        self.fs.symlink_metadata(path.as_str())?;
        let index = match self.paths.iter().position(|known| *known == path) {
            Some(index) => index,
            None => {
                self.paths.push(path);
                self.paths.len() - 1
            }
        };
        Ok(FileId(index as u32 + 1))
    }

    pub fn metadata(&self, file: FileId) -> Result<Metadata, FsError> {
        let metadata = self.fs.symlink_metadata(self.path(file)?)?;
        let kind = match metadata.file_type() {
            FileType::Regular => Kind::File,
            FileType::Directory => Kind::Directory,
            FileType::Symlink => Kind::Symlink,
            _ => Kind::Other,
        };
        Ok(Metadata {
            size: metadata.len(),
            kind,
        })
    }

    pub fn read_at(&self, file: FileId, offset: u64, buffer: &mut [u8]) -> Result<usize, FsError> {
        let mut file = self.fs.open(self.path(file)?)?;
        let size = file.metadata().len();
        let limit = self.geometry.block_map_limit();
        if !self.geometry.extents && size > limit {
            return Err(FsError::Corrupt(format!(
                "file size {size} is more than the {limit} bytes a block map can address"
            )));
        }
        if offset >= size {
            return Ok(0);
        }
        file.seek_to(offset)?;
        let mut filled = 0;
        while filled < buffer.len() {
            match file.read_bytes(&mut buffer[filled..])? {
                0 => break,
                count => filled += count,
            }
        }
        Ok(filled)
    }

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
}
