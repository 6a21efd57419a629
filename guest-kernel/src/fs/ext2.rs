//! A read-only ext2 reader over the block driver: enough to list
//! directories and read files of an image made by `mke2fs -d`.
//!
//! It follows the on-disk format (superblock at byte 1024, block group
//! descriptors after it, inodes with 12 direct, one single, one double and
//! one triple indirect block) and checks what it reads: a bad magic, an
//! inode number or block number out of range is an error, never a panic.

use alloc::string::String;
use alloc::vec::Vec;

use crate::drivers::block;
use crate::memory::{frames, phys_to_virt};

const SUPERBLOCK_OFFSET: u64 = 1024;
const MAGIC: u16 = 0xef53;
const ROOT_INODE: u32 = 2;
/// `i_mode` bits of a directory.
const MODE_DIRECTORY: u16 = 0x4000;

/// Why a filesystem operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ext2Error {
    /// The disk could not be read.
    Io,
    /// Not an ext2 filesystem (or one this reader does not understand).
    NotExt2,
    /// A structure points outside the filesystem.
    Corrupt,
    /// No such file or directory.
    NotFound,
    /// A directory was expected.
    NotDirectory,
}

/// A mounted filesystem.
pub struct Ext2 {
    block_size: u64,
    blocks: u64,
    inodes: u32,
    inodes_per_group: u32,
    inode_size: u64,
    group_table_block: u64,
    scratch: u64,
}

/// An inode's essentials.
#[derive(Clone, Copy, Debug)]
pub struct Inode {
    /// Type and permission bits.
    pub mode: u16,
    /// Size in bytes.
    pub size: u64,
    blocks: [u32; 15],
}

impl Inode {
    /// Whether this is a directory.
    pub fn is_directory(&self) -> bool {
        self.mode & 0xf000 == MODE_DIRECTORY
    }
}

fn le16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

impl Ext2 {
    /// Reads the superblock of the filesystem on the virtual disk.
    pub fn mount() -> Result<Self, Ext2Error> {
        let scratch = frames::allocate().ok_or(Ext2Error::Io)?;
        let mut fs = Self {
            block_size: 1024,
            blocks: 0,
            inodes: 0,
            inodes_per_group: 0,
            inode_size: 128,
            group_table_block: 0,
            scratch,
        };
        let mut superblock = [0u8; 1024];
        fs.read_bytes(SUPERBLOCK_OFFSET, &mut superblock)?;
        if le16(&superblock, 56) != MAGIC {
            return Err(Ext2Error::NotExt2);
        }
        let log_block = le32(&superblock, 24);
        if log_block > 2 {
            return Err(Ext2Error::NotExt2);
        }
        fs.block_size = 1024 << log_block;
        fs.inodes = le32(&superblock, 0);
        fs.blocks = le32(&superblock, 4) as u64;
        fs.inodes_per_group = le32(&superblock, 40);
        let revision = le32(&superblock, 76);
        fs.inode_size = if revision >= 1 {
            le16(&superblock, 88) as u64
        } else {
            128
        };
        fs.group_table_block = le32(&superblock, 20) as u64 + 1;
        if fs.inodes_per_group == 0 || fs.inode_size < 128 || fs.inode_size > fs.block_size {
            return Err(Ext2Error::NotExt2);
        }
        Ok(fs)
    }

    /// Reads `out.len()` bytes at byte `offset` of the disk (at most one page).
    fn read_bytes(&self, offset: u64, out: &mut [u8]) -> Result<(), Ext2Error> {
        let first = offset / block::SECTOR;
        let skip = (offset % block::SECTOR) as usize;
        let span = (skip + out.len()).next_multiple_of(block::SECTOR as usize);
        if span > 4096 {
            return Err(Ext2Error::Io);
        }
        block::read(first, self.scratch, span as u32).map_err(|_| Ext2Error::Io)?;
        // SAFETY: the scratch frame is this reader's, mapped at the offset.
        let data = unsafe { core::slice::from_raw_parts(phys_to_virt(self.scratch), span) };
        out.copy_from_slice(&data[skip..skip + out.len()]);
        Ok(())
    }

    fn read_block(&self, number: u64, out: &mut [u8]) -> Result<(), Ext2Error> {
        if number == 0 || number >= self.blocks {
            return Err(Ext2Error::Corrupt);
        }
        self.read_bytes(number * self.block_size, out)
    }

    /// Reads inode `number`.
    pub fn inode(&self, number: u32) -> Result<Inode, Ext2Error> {
        if number == 0 || number > self.inodes {
            return Err(Ext2Error::Corrupt);
        }
        let group = (number - 1) / self.inodes_per_group;
        let index = (number - 1) % self.inodes_per_group;
        let mut descriptor = [0u8; 32];
        self.read_bytes(
            self.group_table_block * self.block_size + 32 * group as u64,
            &mut descriptor,
        )?;
        let table = le32(&descriptor, 8) as u64;
        let mut raw = [0u8; 128];
        self.read_bytes(
            table * self.block_size + index as u64 * self.inode_size,
            &mut raw,
        )?;
        let mut blocks = [0u32; 15];
        for (slot, block) in blocks.iter_mut().enumerate() {
            *block = le32(&raw, 40 + 4 * slot);
        }
        Ok(Inode {
            mode: le16(&raw, 0),
            size: le32(&raw, 4) as u64 | (le32(&raw, 108) as u64) << 32,
            blocks,
        })
    }

    /// The block holding byte `offset` of a file (0 for a hole).
    fn file_block(&self, inode: &Inode, index: u64) -> Result<u64, Ext2Error> {
        let per_block = self.block_size / 4;
        let pointer = |table: u64, slot: u64| -> Result<u64, Ext2Error> {
            if table == 0 {
                return Ok(0);
            }
            let mut entry = [0u8; 4];
            self.read_bytes(table * self.block_size + 4 * slot, &mut entry)?;
            Ok(le32(&entry, 0) as u64)
        };
        if index < 12 {
            return Ok(inode.blocks[index as usize] as u64);
        }
        let index = index - 12;
        if index < per_block {
            return pointer(inode.blocks[12] as u64, index);
        }
        let index = index - per_block;
        if index < per_block * per_block {
            let middle = pointer(inode.blocks[13] as u64, index / per_block)?;
            return pointer(middle, index % per_block);
        }
        let index = index - per_block * per_block;
        let first = pointer(inode.blocks[14] as u64, index / (per_block * per_block))?;
        let second = pointer(first, (index / per_block) % per_block)?;
        pointer(second, index % per_block)
    }

    /// The whole contents of `inode`.
    pub fn read_file(&self, inode: &Inode) -> Result<Vec<u8>, Ext2Error> {
        let size = usize::try_from(inode.size).map_err(|_| Ext2Error::Corrupt)?;
        if size > 16 << 20 {
            return Err(Ext2Error::Corrupt);
        }
        let mut data = alloc::vec![0u8; size];
        let mut block = alloc::vec![0u8; self.block_size as usize];
        for (index, chunk) in data.chunks_mut(self.block_size as usize).enumerate() {
            match self.file_block(inode, index as u64)? {
                0 => chunk.fill(0),
                number => {
                    self.read_block(number, &mut block)?;
                    chunk.copy_from_slice(&block[..chunk.len()]);
                }
            }
        }
        Ok(data)
    }

    /// The entries of a directory: name, inode number, whether a directory.
    pub fn read_dir(&self, inode: &Inode) -> Result<Vec<(String, u32, bool)>, Ext2Error> {
        if !inode.is_directory() {
            return Err(Ext2Error::NotDirectory);
        }
        let data = self.read_file(inode)?;
        let mut entries = Vec::new();
        let mut at = 0usize;
        while at + 8 <= data.len() {
            let number = le32(&data, at);
            let length = le16(&data, at + 4) as usize;
            let name_length = data[at + 6] as usize;
            if length < 8 || at + length > data.len() || 8 + name_length > length {
                return Err(Ext2Error::Corrupt);
            }
            if number != 0 {
                let name =
                    String::from_utf8_lossy(&data[at + 8..at + 8 + name_length]).into_owned();
                entries.push((name, number, data[at + 7] == 2));
            }
            at += length;
        }
        Ok(entries)
    }

    /// Finds `path` (absolute, `/`-separated) from the root directory.
    pub fn lookup(&self, path: &str) -> Result<Inode, Ext2Error> {
        let mut inode = self.inode(ROOT_INODE)?;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let entries = self.read_dir(&inode)?;
            let number = entries
                .iter()
                .find(|(name, _, _)| name == part)
                .map(|(_, n, _)| *n)
                .ok_or(Ext2Error::NotFound)?;
            inode = self.inode(number)?;
        }
        Ok(inode)
    }
}
