//! One inode as the disk holds it: its raw bytes with typed accessors for
//! the fields this crate reads and writes (mode, size, link count,
//! `i_blocks`, flags, block map, times).

use alloc::vec;
use alloc::vec::Vec;

use crate::superblock::{le16, le32, put16, put32};

/// Mode bits: the file type.
pub const TYPE_MASK: u16 = 0xf000;
pub const TYPE_FILE: u16 = 0x8000;
pub const TYPE_DIRECTORY: u16 = 0x4000;
pub const TYPE_SYMLINK: u16 = 0xa000;
/// `i_flags`: a hashed-index directory, and a file mapped by extents.
pub const FLAG_INDEX: u32 = 0x1000;
pub const FLAG_EXTENTS: u32 = 0x80000;

/// What kind of file an inode is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Directory,
    Symlink,
    Other,
}

impl Kind {
    /// The kind a mode says.
    pub fn of_mode(mode: u16) -> Self {
        match mode & TYPE_MASK {
            TYPE_FILE => Kind::File,
            TYPE_DIRECTORY => Kind::Directory,
            TYPE_SYMLINK => Kind::Symlink,
            _ => Kind::Other,
        }
    }

    /// The file type directory entries record for this kind.
    pub fn entry_type(self) -> u8 {
        match self {
            Kind::File => 1,
            Kind::Directory => 2,
            Kind::Symlink => 7,
            Kind::Other => 0,
        }
    }
}

/// An inode's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inode {
    bytes: Vec<u8>,
}

impl Inode {
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self {
            bytes: bytes.to_vec(),
        }
    }

    /// A new inode of `size` bytes on disk: `mode`, one link, every time
    /// `now`, no blocks.
    pub fn new(size: usize, mode: u16, now: u32) -> Self {
        let mut inode = Self {
            bytes: vec![0; size],
        };
        put16(&mut inode.bytes, 0x0, mode);
        for at in [0x8, 0xc, 0x10] {
            put32(&mut inode.bytes, at, now);
        }
        inode.set_links(1);
        if size >= 160 {
            // i_extra_isize: the fields up to i_crtime_extra, as mke2fs.
            put16(&mut inode.bytes, 0x80, 32);
        }
        inode
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn mode(&self) -> u16 {
        le16(&self.bytes, 0x0)
    }

    pub fn kind(&self) -> Kind {
        Kind::of_mode(self.mode())
    }

    /// Size in bytes (the high half counts for regular files only).
    pub fn size(&self) -> u64 {
        let high = match self.kind() {
            Kind::File => u64::from(le32(&self.bytes, 0x6c)) << 32,
            _ => 0,
        };
        u64::from(le32(&self.bytes, 0x4)) | high
    }

    pub fn set_size(&mut self, size: u64) {
        put32(&mut self.bytes, 0x4, size as u32);
        put32(&mut self.bytes, 0x6c, (size >> 32) as u32);
    }

    pub fn links(&self) -> u16 {
        le16(&self.bytes, 0x1a)
    }

    pub fn set_links(&mut self, links: u16) {
        put16(&mut self.bytes, 0x1a, links);
    }

    /// `i_blocks`: 512-byte units held, indirect blocks included.
    pub fn sectors(&self) -> u32 {
        le32(&self.bytes, 0x1c)
    }

    pub fn set_sectors(&mut self, sectors: u32) {
        put32(&mut self.bytes, 0x1c, sectors);
    }

    pub fn flags(&self) -> u32 {
        le32(&self.bytes, 0x20)
    }

    pub fn set_flags(&mut self, flags: u32) {
        put32(&mut self.bytes, 0x20, flags);
    }

    /// Entry `index` (0..15) of the block map.
    pub fn block(&self, index: usize) -> u32 {
        le32(&self.bytes, 0x28 + 4 * index)
    }

    pub fn set_block(&mut self, index: usize, block: u32) {
        put32(&mut self.bytes, 0x28 + 4 * index, block);
    }

    /// The 60 bytes of the block map (a fast symbolic link's target).
    pub fn block_map_bytes(&self) -> &[u8] {
        &self.bytes[0x28..0x64]
    }

    /// The extended-attribute block, 0 if none.
    pub fn attribute_block(&self) -> u32 {
        le32(&self.bytes, 0x68)
    }

    pub fn set_attribute_block(&mut self, block: u32) {
        put32(&mut self.bytes, 0x68, block);
    }

    /// Sets the change and modification times.
    pub fn touch(&mut self, now: u32) {
        put32(&mut self.bytes, 0xc, now);
        put32(&mut self.bytes, 0x10, now);
    }

    /// Marks the inode deleted at `now`.
    pub fn set_deleted(&mut self, now: u32) {
        put32(&mut self.bytes, 0x14, now);
    }
}
