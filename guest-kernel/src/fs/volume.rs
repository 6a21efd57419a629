//! The mounted filesystem the rest of the kernel uses: path lookup,
//! reading and writing files by [`FileId`], creating and removing files
//! and directories, listings, metadata and `sync`.
//!
//! Mounting runs the checks of [`super::layout`] first. A filesystem the
//! `ext2` crate writes (ext2 revision 1 without journal, extents or
//! checksums) is then served by that crate alone, reads and writes through
//! one write-back block cache, so a written file reads back at once.
//! Anything else (ext3, ext4) is served read-only by [`ReadOnly`] through
//! `ext4-view`, and every change is refused with
//! [`FsError::ReadOnly`] naming the features this kernel does not write.
//!
//! Methods that only look take `&self`; the cache they fill lives in a
//! `RefCell`, so lookups work through a shared reference as well.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use ext2::{Ext2, superblock::Superblock};
use ext4_view::Ext4;

use super::disk::{Ext4Reader, ReadAt, VirtualDisk};
use super::entry::{Entry, FileId, Metadata};
use super::error::FsError;
use super::layout::{self, Geometry};
use super::read_only::ReadOnly;

enum Backend {
    Writable(Ext2<VirtualDisk>),
    ReadOnly(ReadOnly, String),
}

/// A mounted filesystem.
pub struct Volume {
    backend: RefCell<Backend>,
    geometry: Geometry,
    /// Open descriptors per file ([`Volume::hold`]): such a file is not
    /// unlinked (its inode would be freed, and perhaps given to another
    /// file, under them).
    open: BTreeMap<FileId, u32>,
}

// SAFETY: `ext4-view` shares its state through `Rc`, which is not `Send`.
// Every `Rc` clone it makes lives inside one method call of this volume
// (no file or iterator of its is handed out), and the volume is reached
// only through the mutex of `fs::volume()`, so no two threads ever touch
// those counts at once.
unsafe impl Send for Volume {}

impl Volume {
    /// Checks and mounts the filesystem on `disk`.
    pub fn mount(mut disk: VirtualDisk) -> Result<Self, FsError> {
        let geometry = layout::check(&mut disk)?;
        let mut raw = [0u8; 1024];
        disk.read_at(ext2::superblock::OFFSET, &mut raw)?;
        let superblock = Superblock::parse(&raw, ReadAt::size(&disk))?;
        let backend = match superblock.read_only {
            None => Backend::Writable(Ext2::mount(disk)?),
            Some(features) => {
                let fs = Ext4::load(Box::new(Ext4Reader(disk)))?;
                Backend::ReadOnly(ReadOnly::new(fs, geometry), features)
            }
        };
        Ok(Self {
            backend: RefCell::new(backend),
            geometry,
            open: BTreeMap::new(),
        })
    }

    /// What the mount checks found.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Why changes are refused (the features' names), if they are.
    pub fn read_only(&self) -> Option<String> {
        match &*self.backend.borrow() {
            Backend::Writable(_) => None,
            Backend::ReadOnly(_, features) => Some(features.clone()),
        }
    }

    /// The writable filesystem, or the refusal naming its features.
    fn writable(&mut self) -> Result<&mut Ext2<VirtualDisk>, FsError> {
        match self.backend.get_mut() {
            Backend::Writable(fs) => Ok(fs),
            Backend::ReadOnly(_, features) => Err(FsError::ReadOnly(features.clone())),
        }
    }

    /// The file `path` (absolute) names, symbolic links followed.
    pub fn lookup(&self, path: &str) -> Result<FileId, FsError> {
        match &mut *self.backend.borrow_mut() {
            Backend::Writable(fs) => Ok(FileId(fs.resolve(path, true)?)),
            Backend::ReadOnly(fs, _) => fs.lookup(path),
        }
    }

    /// Size and kind of `file`.
    pub fn metadata(&self, file: FileId) -> Result<Metadata, FsError> {
        match &mut *self.backend.borrow_mut() {
            Backend::Writable(fs) => {
                let metadata = fs.metadata(file.0)?;
                Ok(Metadata {
                    size: metadata.size,
                    kind: metadata.kind,
                })
            }
            Backend::ReadOnly(fs, _) => fs.metadata(file),
        }
    }

    /// The entries of the directory at `path`, `.` and `..` left out,
    /// sorted by name.
    pub fn list(&self, path: &str) -> Result<Vec<Entry>, FsError> {
        match &mut *self.backend.borrow_mut() {
            Backend::Writable(fs) => Ok(fs
                .list(path)?
                .into_iter()
                .map(|entry| Entry {
                    name: entry.name,
                    directory: entry.directory,
                })
                .collect()),
            Backend::ReadOnly(fs, _) => fs.list(path),
        }
    }

    /// Reads regular file `file` from `offset`; returns the bytes read,
    /// 0 at the end.
    pub fn read_at(
        &mut self,
        file: FileId,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, FsError> {
        match self.backend.get_mut() {
            Backend::Writable(fs) => Ok(fs.read_at(file.0, offset, buffer)?),
            Backend::ReadOnly(fs, _) => fs.read_at(file, offset, buffer),
        }
    }

    /// Creates an empty regular file at `path` ([`FsError::Exists`] if
    /// the name is taken).
    pub fn create(&mut self, path: &str) -> Result<FileId, FsError> {
        Ok(FileId(self.writable()?.create(path)?))
    }

    /// Creates an empty directory at `path`.
    pub fn mkdir(&mut self, path: &str) -> Result<(), FsError> {
        self.writable()?.mkdir(path)?;
        Ok(())
    }

    /// Removes the regular file or symbolic link at `path`.
    /// A file some descriptor holds is refused ([`FsError::Busy`]).
    pub fn unlink(&mut self, path: &str) -> Result<(), FsError> {
        if self.open.contains_key(&self.lookup(path)?) {
            return Err(FsError::Busy);
        }
        Ok(self.writable()?.unlink(path)?)
    }

    /// A descriptor now names `file`.
    pub fn hold(&mut self, file: FileId) {
        *self.open.entry(file).or_default() += 1;
    }

    /// A descriptor naming `file` was closed.
    pub fn release(&mut self, file: FileId) {
        if let Some(count) = self.open.get_mut(&file) {
            *count -= 1;
            if *count == 0 {
                self.open.remove(&file);
            }
        }
    }

    /// Removes the empty directory at `path`.
    pub fn rmdir(&mut self, path: &str) -> Result<(), FsError> {
        Ok(self.writable()?.rmdir(path)?)
    }

    /// Writes `data` into `file` at `offset`, growing it as needed;
    /// returns the bytes written (fewer when space ran out).
    pub fn write_at(&mut self, file: FileId, offset: u64, data: &[u8]) -> Result<usize, FsError> {
        Ok(self.writable()?.write_at(file.0, offset, data)?)
    }

    /// Sets `file`'s size (shrinking frees blocks, growing leaves a hole).
    pub fn truncate(&mut self, file: FileId, size: u64) -> Result<(), FsError> {
        Ok(self.writable()?.truncate(file.0, size)?)
    }

    /// Writes every change to the disk (file data, then metadata) and
    /// flushes it. Nothing to do on a read-only volume.
    pub fn sync(&mut self) -> Result<(), FsError> {
        match self.backend.get_mut() {
            Backend::Writable(fs) => Ok(fs.sync()?),
            Backend::ReadOnly(..) => Ok(()),
        }
    }
}
