//! Directories: the entries in a directory's blocks, looked up, listed,
//! added (in the slack of an entry whose record is longer than it needs,
//! or in a new block) and removed (merged into the record before it, or
//! marked unused when first in its block).
//!
//! Entries are checked as they are read: a record length that is not a
//! multiple of 4, runs past its block or cannot hold its name is corrupt.
//! A hashed-index directory is read as the plain list it also is; changing
//! one clears its index flag, as ext2 drivers without the index do, so the
//! stale index is never used.

use alloc::format;
use alloc::vec::Vec;

use crate::cache::Kind as CacheKind;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::filesystem::Ext2;
use crate::inode::{FLAG_INDEX, Inode, Kind};
use crate::superblock::{le16, le32, put16, put32};

/// Longest name an entry holds.
pub const MAX_NAME: usize = 255;

/// One entry of a directory block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Byte offset in its block.
    pub offset: usize,
    pub inode: u32,
    pub record: usize,
    pub name: Vec<u8>,
    /// The entry's file type (0 when entries carry none).
    pub file_type: u8,
}

/// Record bytes an entry with a `len`-byte name needs.
fn needed(len: usize) -> usize {
    (8 + len).next_multiple_of(4)
}

/// The entries of directory block `bytes` (unused ones too).
pub fn parse_block(bytes: &[u8], file_types: bool, whose: &str) -> Result<Vec<DirEntry>> {
    let mut entries = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        if offset + 8 > bytes.len() {
            return Err(Error::corrupt(format!(
                "{whose}: entry at byte {offset} is cut off"
            )));
        }
        let record = usize::from(le16(bytes, offset + 4));
        let name_len = match file_types {
            true => usize::from(bytes[offset + 6]),
            false => usize::from(le16(bytes, offset + 6)),
        };
        if record < 8 || record % 4 != 0 || offset + record > bytes.len() || 8 + name_len > record {
            return Err(Error::corrupt(format!(
                "{whose}: entry at byte {offset} has record length {record} for a {name_len}-byte name"
            )));
        }
        entries.push(DirEntry {
            offset,
            inode: le32(bytes, offset),
            record,
            name: bytes[offset + 8..offset + 8 + name_len].to_vec(),
            file_type: if file_types { bytes[offset + 7] } else { 0 },
        });
        offset += record;
    }
    Ok(entries)
}

/// Writes an entry's header and name at `offset`.
fn put_entry(bytes: &mut [u8], offset: usize, entry: (u32, usize, &[u8], u8), types: bool) {
    let (inode, record, name, file_type) = entry;
    put32(bytes, offset, inode);
    put16(bytes, offset + 4, record as u16);
    bytes[offset + 6] = name.len() as u8;
    bytes[offset + 7] = if types { file_type } else { 0 };
    bytes[offset + 8..offset + 8 + name.len()].copy_from_slice(name);
}

impl<D: BlockDevice> Ext2<D> {
    /// Directory `number`'s inode; [`Error::NotDirectory`] if it is not one.
    pub(crate) fn directory(&mut self, number: u32) -> Result<Inode> {
        let inode = self.read_inode(number)?;
        match inode.kind() {
            Kind::Directory => Ok(inode),
            _ => Err(Error::NotDirectory),
        }
    }

    /// Directory `inode`'s blocks: (index, disk block).
    fn directory_blocks(&mut self, number: u32, inode: &Inode) -> Result<Vec<(u64, u64)>> {
        let block_size = u64::from(self.sb.block_size);
        let count = inode.size() / block_size;
        if !inode.size().is_multiple_of(block_size) || count > u64::from(self.sb.blocks) {
            return Err(Error::corrupt(format!(
                "directory inode {number} has size {}",
                inode.size()
            )));
        }
        let mut blocks = Vec::new();
        for index in 0..count {
            match self.map(inode, index)? {
                Some(block) => blocks.push((index, block)),
                None => {
                    return Err(Error::corrupt(format!(
                        "directory inode {number} has a hole at block {index}"
                    )));
                }
            }
        }
        Ok(blocks)
    }

    /// Every used entry of directory `number` (`.` and `..` included).
    pub fn entries(&mut self, number: u32) -> Result<Vec<DirEntry>> {
        let inode = self.directory(number)?;
        let types = self.sb.file_types();
        let mut all = Vec::new();
        for (index, block) in self.directory_blocks(number, &inode)? {
            let whose = format!("directory inode {number} block {index}");
            let entries = parse_block(self.cache.read(block)?, types, &whose)?;
            all.extend(entries.into_iter().filter(|entry| entry.inode != 0));
        }
        Ok(all)
    }

    /// The inode `name` names in directory `number`, if any.
    pub fn find(&mut self, number: u32, name: &[u8]) -> Result<Option<u32>> {
        Ok(self
            .entries(number)?
            .into_iter()
            .find(|entry| entry.name == name)
            .map(|entry| entry.inode))
    }

    /// Clears a directory's index flag before its entries change.
    fn unindex(&self, inode: &mut Inode) {
        inode.set_flags(inode.flags() & !FLAG_INDEX);
        inode.touch(self.now());
    }

    /// Adds entry `name` for inode `target` of `kind` to directory
    /// `number` (the caller checked that the name is free).
    pub(crate) fn add_entry(
        &mut self,
        number: u32,
        name: &[u8],
        target: u32,
        kind: Kind,
    ) -> Result<()> {
        if name.len() > MAX_NAME {
            return Err(Error::NameTooLong);
        }
        let mut inode = self.directory(number)?;
        self.unindex(&mut inode);
        let types = self.sb.file_types();
        let want = needed(name.len());
        let entry = (target, 0, name, kind.entry_type());
        for (index, block) in self.directory_blocks(number, &inode)? {
            let whose = format!("directory inode {number} block {index}");
            let entries = parse_block(self.cache.read(block)?, types, &whose)?;
            for old in entries {
                let used = if old.inode == 0 {
                    0
                } else {
                    needed(old.name.len())
                };
                if old.record - used < want {
                    continue;
                }
                let bytes = self.cache.modify(block, CacheKind::Metadata)?;
                if old.inode == 0 {
                    put_entry(
                        bytes,
                        old.offset,
                        (entry.0, old.record, name, entry.3),
                        types,
                    );
                } else {
                    put16(bytes, old.offset + 4, used as u16);
                    let record = old.record - used;
                    put_entry(
                        bytes,
                        old.offset + used,
                        (entry.0, record, name, entry.3),
                        types,
                    );
                }
                return self.write_inode(number, &inode);
            }
        }
        // No room: a new block holding just this entry.
        let block_size = u64::from(self.sb.block_size);
        let index = inode.size() / block_size;
        let goal = self.group_start(self.group_of(number));
        let (block, _) = self.map_or_allocate(&mut inode, index, goal)?;
        let bytes = self.cache.zeroed(block, CacheKind::Metadata);
        put_entry(
            bytes,
            0,
            (entry.0, block_size as usize, name, entry.3),
            types,
        );
        inode.set_size(inode.size() + block_size);
        self.write_inode(number, &inode)
    }

    /// Removes entry `name` from directory `number`; returns its inode.
    pub(crate) fn remove_entry(&mut self, number: u32, name: &[u8]) -> Result<u32> {
        let mut inode = self.directory(number)?;
        let types = self.sb.file_types();
        for (index, block) in self.directory_blocks(number, &inode)? {
            let whose = format!("directory inode {number} block {index}");
            let entries = parse_block(self.cache.read(block)?, types, &whose)?;
            let Some(at) = entries
                .iter()
                .position(|entry| entry.inode != 0 && entry.name == name)
            else {
                continue;
            };
            let found = entries[at].inode;
            let bytes = self.cache.modify(block, CacheKind::Metadata)?;
            match at {
                0 => put32(bytes, 0, 0),
                _ => {
                    let before = &entries[at - 1];
                    put16(
                        bytes,
                        before.offset + 4,
                        (before.record + entries[at].record) as u16,
                    );
                }
            }
            self.unindex(&mut inode);
            self.write_inode(number, &inode)?;
            return Ok(found);
        }
        Err(Error::NotFound)
    }
}
