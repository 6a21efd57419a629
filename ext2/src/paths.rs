//! Paths and the namespace: lookup (following symbolic links, at most
//! [`MAX_SYMLINK_HOPS`] per lookup), creating files and directories,
//! unlinking, removing empty directories, listing, and metadata.
//!
//! Paths are absolute (a relative one is taken from the root); `.` and
//! `..` are resolved by name, so `..` of the root is the root. Link counts
//! follow the ext2 rules: a file has one per name, a directory two plus
//! one per subdirectory (their `..`).

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::cache::Kind as CacheKind;
use crate::device::BlockDevice;
use crate::directory::MAX_NAME;
use crate::error::{Error, MAX_SYMLINK_HOPS, Result};
use crate::filesystem::Ext2;
use crate::inode::{Inode, Kind, TYPE_DIRECTORY, TYPE_FILE};
use crate::superblock::{ROOT, put16, put32};

/// Links an inode may have at most.
const MAX_LINKS: u16 = 32000;

/// What a file is, as `stat` would say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    pub size: u64,
    pub kind: Kind,
    pub links: u16,
}

/// An entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listed {
    pub name: String,
    pub inode: u32,
    pub directory: bool,
}

fn components(path: &[u8]) -> Vec<Vec<u8>> {
    path.split(|byte| *byte == b'/')
        .filter(|part| !part.is_empty())
        .rev()
        .map(<[u8]>::to_vec)
        .collect()
}

impl<D: BlockDevice> Ext2<D> {
    /// The inode `path` names; the last component's symbolic link is
    /// followed when `follow_last`.
    pub fn resolve(&mut self, path: &str, follow_last: bool) -> Result<u32> {
        let mut pending = components(path.as_bytes());
        let mut stack = vec![ROOT];
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            let here = *stack.last().expect("the root stays");
            match part.as_slice() {
                b"." => continue,
                b".." => {
                    if stack.len() > 1 {
                        stack.pop();
                    }
                    continue;
                }
                _ => {}
            }
            self.directory(here)?;
            let found = self.find(here, &part)?.ok_or(Error::NotFound)?;
            let inode = self.read_inode(found)?;
            if inode.kind() != Kind::Symlink || (pending.is_empty() && !follow_last) {
                stack.push(found);
                continue;
            }
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(Error::SymlinkLoop);
            }
            let target = self.read_link(found)?;
            if target.starts_with(b"/") {
                stack.truncate(1);
            }
            pending.extend(components(&target));
        }
        Ok(*stack.last().expect("the root stays"))
    }

    /// The directory `path`'s last component lies in, and that name.
    fn parent(&mut self, path: &str) -> Result<(u32, Vec<u8>)> {
        let trimmed = path.trim_end_matches('/');
        let (dir, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
        match name {
            "" | "." | ".." => return Err(Error::Invalid(format!("`{path}` names no new entry"))),
            _ if name.len() > MAX_NAME => return Err(Error::NameTooLong),
            _ => {}
        }
        let dir = self.resolve(dir, true)?;
        self.directory(dir)?;
        Ok((dir, name.as_bytes().to_vec()))
    }

    /// Creates an empty regular file at `path`.
    pub fn create(&mut self, path: &str) -> Result<u32> {
        self.check_writable()?;
        let (dir, name) = self.parent(path)?;
        if self.find(dir, &name)?.is_some() {
            return Err(Error::Exists);
        }
        let number = self.allocate_inode(self.group_of(dir), false)?;
        let inode = Inode::new(self.sb.inode_size as usize, TYPE_FILE | 0o644, self.now());
        self.write_inode(number, &inode)?;
        if let Err(error) = self.add_entry(dir, &name, number, Kind::File) {
            self.discard_inode(number, inode)?;
            return Err(error);
        }
        self.settle()?;
        Ok(number)
    }

    /// Creates an empty directory at `path`.
    pub fn mkdir(&mut self, path: &str) -> Result<u32> {
        self.check_writable()?;
        let (dir, name) = self.parent(path)?;
        if self.find(dir, &name)?.is_some() {
            return Err(Error::Exists);
        }
        let mut parent = self.directory(dir)?;
        if parent.links() >= MAX_LINKS {
            return Err(Error::Invalid(
                "too many links to the parent directory".into(),
            ));
        }
        let number = self.allocate_inode(self.group_of(dir), true)?;
        let mut inode = Inode::new(
            self.sb.inode_size as usize,
            TYPE_DIRECTORY | 0o755,
            self.now(),
        );
        let block = match self.allocate_block(self.group_start(self.group_of(number))) {
            Ok(block) => block,
            Err(error) => {
                self.discard_inode(number, inode)?;
                return Err(error);
            }
        };
        let block_size = self.sb.block_size as usize;
        let types = self.sb.file_types();
        let bytes = self.cache.zeroed(block, CacheKind::Metadata);
        for (offset, target, record, name) in [
            (0, number, 12, &b"."[..]),
            (12, dir, block_size - 12, b".."),
        ] {
            put32(bytes, offset, target);
            put16(bytes, offset + 4, record as u16);
            bytes[offset + 6] = name.len() as u8;
            bytes[offset + 7] = if types {
                Kind::Directory.entry_type()
            } else {
                0
            };
            bytes[offset + 8..offset + 8 + name.len()].copy_from_slice(name);
        }
        inode.set_block(0, block as u32);
        inode.set_sectors(self.sb.block_size / 512);
        inode.set_size(block_size as u64);
        inode.set_links(2);
        self.write_inode(number, &inode)?;
        if let Err(error) = self.add_entry(dir, &name, number, Kind::Directory) {
            self.discard_inode(number, inode)?;
            return Err(error);
        }
        parent = self.read_inode(dir)?;
        parent.set_links(parent.links() + 1);
        self.write_inode(dir, &parent)?;
        self.settle()?;
        Ok(number)
    }

    /// Gives back inode `number`, just made (`inode`) for a name that
    /// could not be entered, with any block it holds.
    fn discard_inode(&mut self, number: u32, mut inode: Inode) -> Result<()> {
        inode.set_links(0);
        self.drop_link(number, inode)
    }

    /// Drops one link of inode `number`, freeing it and its blocks when
    /// none is left.
    fn drop_link(&mut self, number: u32, mut inode: Inode) -> Result<()> {
        let directory = inode.kind() == Kind::Directory;
        let links = if directory {
            0
        } else {
            inode.links().saturating_sub(1)
        };
        inode.set_links(links);
        inode.touch(self.now());
        if links > 0 {
            return self.write_inode(number, &inode);
        }
        let fast_link = inode.kind() == Kind::Symlink
            && inode.sectors()
                == if inode.attribute_block() == 0 {
                    0
                } else {
                    self.sb.block_size / 512
                };
        if !fast_link {
            self.free_from(&mut inode, 0)?;
        }
        for slot in 0..15 {
            inode.set_block(slot, 0);
        }
        self.release_attributes(&mut inode)?;
        inode.set_size(0);
        inode.set_deleted(self.now());
        self.write_inode(number, &inode)?;
        self.free_inode(number, directory)
    }

    /// Drops inode's reference to its extended-attribute block, freeing
    /// the block when no other inode shares it.
    fn release_attributes(&mut self, inode: &mut Inode) -> Result<()> {
        let block = u64::from(inode.attribute_block());
        if block == 0 {
            return Ok(());
        }
        self.check_block(block, "an extended-attribute block pointer")?;
        let bytes = self.cache.modify(block, CacheKind::Metadata)?;
        if bytes[..4] != 0xea02_0000u32.to_le_bytes() {
            return Err(Error::corrupt(format!(
                "extended-attribute block {block} has a bad magic"
            )));
        }
        let references = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        put32(bytes, 4, references.saturating_sub(1));
        if references <= 1 {
            self.free_block(block)?;
        }
        inode.set_attribute_block(0);
        inode.set_sectors(inode.sectors().saturating_sub(self.sb.block_size / 512));
        Ok(())
    }

    /// Removes the file or symbolic link at `path` (not a directory).
    pub fn unlink(&mut self, path: &str) -> Result<()> {
        self.check_writable()?;
        let (dir, name) = self.parent(path)?;
        let number = self.find(dir, &name)?.ok_or(Error::NotFound)?;
        let inode = self.read_inode(number)?;
        if inode.kind() == Kind::Directory {
            return Err(Error::IsDirectory);
        }
        self.remove_entry(dir, &name)?;
        self.drop_link(number, inode)?;
        self.settle()
    }

    /// Removes the empty directory at `path`.
    pub fn rmdir(&mut self, path: &str) -> Result<()> {
        self.check_writable()?;
        let (dir, name) = self.parent(path)?;
        let number = self.find(dir, &name)?.ok_or(Error::NotFound)?;
        let inode = self.directory(number)?;
        if self
            .entries(number)?
            .iter()
            .any(|entry| entry.name != b"." && entry.name != b"..")
        {
            return Err(Error::NotEmpty);
        }
        self.remove_entry(dir, &name)?;
        self.drop_link(number, inode)?;
        let mut parent = self.read_inode(dir)?;
        parent.set_links(parent.links().saturating_sub(1).max(2));
        self.write_inode(dir, &parent)?;
        self.settle()
    }

    /// The entries of directory `path`, `.` and `..` left out, by name.
    pub fn list(&mut self, path: &str) -> Result<Vec<Listed>> {
        let number = self.resolve(path, true)?;
        let mut listed = Vec::new();
        for entry in self.entries(number)? {
            if entry.name == b"." || entry.name == b".." {
                continue;
            }
            let directory = match entry.file_type {
                0 => self.read_inode(entry.inode)?.kind() == Kind::Directory,
                kind => kind == Kind::Directory.entry_type(),
            };
            listed.push(Listed {
                name: String::from_utf8_lossy(&entry.name).into_owned(),
                inode: entry.inode,
                directory,
            });
        }
        listed.sort();
        self.settle()?;
        Ok(listed)
    }

    /// Size, kind and links of inode `number`.
    pub fn metadata(&mut self, number: u32) -> Result<Metadata> {
        let inode = self.read_inode(number)?;
        Ok(Metadata {
            size: inode.size(),
            kind: inode.kind(),
            links: inode.links(),
        })
    }
}
