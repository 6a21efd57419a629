//! The superblock: the geometry this crate checks before trusting any
//! other structure, the feature flags that decide whether it may write,
//! and the little-endian field helpers every on-disk structure uses.

use alloc::format;
use alloc::string::String;

use crate::error::{Error, Result};

/// Byte offset of the superblock on the disk.
pub const OFFSET: u64 = 1024;
const MAGIC: u16 = 0xef53;
/// The root directory's inode.
pub const ROOT: u32 = 2;

/// Features this crate writes, per word: compat (directory
/// preallocation, AFS inodes, extended attributes, resize inode, directory
/// index), incompat (file type in entries), ro_compat (sparse
/// superblocks, large files).
const COMPAT_WRITABLE: u32 = 0x1 | 0x2 | 0x8 | 0x10 | 0x20;
const INCOMPAT_WRITABLE: u32 = 0x2;
const RO_COMPAT_WRITABLE: u32 = 0x1 | 0x2;
pub const INCOMPAT_FILETYPE: u32 = 0x2;
pub const RO_COMPAT_LARGE_FILE: u32 = 0x2;

/// Feature names, per word (the refusal and the guest's mount checks
/// name features with them).
pub const COMPAT_NAMES: [(u32, &str); 12] = [
    (0x1, "dir_prealloc"),
    (0x2, "imagic_inodes"),
    (0x4, "has_journal"),
    (0x8, "ext_attr"),
    (0x10, "resize_inode"),
    (0x20, "dir_index"),
    (0x40, "lazy_bg"),
    (0x80, "exclude_inode"),
    (0x100, "exclude_bitmap"),
    (0x200, "sparse_super2"),
    (0x400, "fast_commit"),
    (0x800, "stable_inodes"),
];
pub const INCOMPAT_NAMES: [(u32, &str); 17] = [
    (0x1, "compression"),
    (0x2, "filetype"),
    (0x4, "needs_recovery"),
    (0x8, "journal_dev"),
    (0x10, "meta_bg"),
    (0x40, "extent"),
    (0x80, "64bit"),
    (0x100, "mmp"),
    (0x200, "flex_bg"),
    (0x400, "ea_inode"),
    (0x1000, "dirdata"),
    (0x2000, "metadata_csum_seed"),
    (0x4000, "large_dir"),
    (0x8000, "inline_data"),
    (0x10000, "encrypt"),
    (0x20000, "casefold"),
    (0x40000, "stable_inodes"),
];
pub const RO_COMPAT_NAMES: [(u32, &str); 15] = [
    (0x1, "sparse_super"),
    (0x2, "large_file"),
    (0x8, "huge_file"),
    (0x10, "uninit_bg"),
    (0x20, "dir_nlink"),
    (0x40, "extra_isize"),
    (0x80, "snapshot"),
    (0x100, "quota"),
    (0x200, "bigalloc"),
    (0x400, "metadata_csum"),
    (0x800, "replica"),
    (0x1000, "read-only"),
    (0x2000, "project"),
    (0x4000, "shared_blocks"),
    (0x8000, "verity"),
];

pub fn le16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

pub fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

pub fn put16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

pub fn put32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// The fields of the superblock this crate uses, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Superblock {
    pub inodes: u32,
    pub blocks: u32,
    pub first_data_block: u32,
    pub block_size: u32,
    pub blocks_per_group: u32,
    pub inodes_per_group: u32,
    pub inode_size: u32,
    pub first_inode: u32,
    pub groups: u32,
    pub incompat: u32,
    pub ro_compat: u32,
    /// Latest of the mount and write times (what new timestamps get).
    pub time: u32,
    /// Why writes are refused (the features' names), if they are.
    pub read_only: Option<String>,
}

/// Appends `bits` to `text` spelled as feature names, comma-separated
/// (unknown ones in hex).
pub fn feature_names(bits: u32, names: &[(u32, &str)], text: &mut String) {
    let mut unknown = bits;
    for (bit, name) in names {
        if bits & bit != 0 {
            if !text.is_empty() {
                text.push_str(", ");
            }
            text.push_str(name);
            unknown &= !bit;
        }
    }
    if unknown != 0 {
        if !text.is_empty() {
            text.push_str(", ");
        }
        text.push_str(&format!("unknown {unknown:#x}"));
    }
}

impl Superblock {
    /// Parses and checks the 1024 bytes of a superblock on a disk of
    /// `disk_bytes` bytes.
    pub fn parse(sb: &[u8], disk_bytes: u64) -> Result<Self> {
        let corrupt = |what: String| Err(Error::Corrupt(what));
        if le16(sb, 0x38) != MAGIC {
            return corrupt(format!("bad magic {:#06x}", le16(sb, 0x38)));
        }
        if le32(sb, 0x4c) == 0 {
            return corrupt("revision 0 filesystem".into());
        }
        let log_block = le32(sb, 0x18);
        if log_block > 6 {
            return corrupt(format!("block size 2^{}", 10 + u64::from(log_block)));
        }
        let block_size = 1024u32 << log_block;
        let blocks = le32(sb, 0x4);
        if blocks == 0 || u64::from(blocks) > disk_bytes / u64::from(block_size) {
            return corrupt(format!("superblock claims {blocks} blocks"));
        }
        let first_data_block = le32(sb, 0x14);
        if first_data_block != u32::from(block_size == 1024) {
            return corrupt(format!("first data block {first_data_block}"));
        }
        let per_group_limit = 8 * block_size;
        let blocks_per_group = le32(sb, 0x20);
        if !(8..=per_group_limit).contains(&blocks_per_group) || !blocks_per_group.is_multiple_of(8)
        {
            return corrupt(format!("blocks per group {blocks_per_group}"));
        }
        let inodes_per_group = le32(sb, 0x28);
        if !(1..=per_group_limit).contains(&inodes_per_group) {
            return corrupt(format!("inodes per group {inodes_per_group}"));
        }
        let groups = (blocks - first_data_block).div_ceil(blocks_per_group);
        let inodes = le32(sb, 0x0);
        if u64::from(inodes) != u64::from(inodes_per_group) * u64::from(groups) {
            return corrupt(format!("inode count {inodes}"));
        }
        let inode_size = u32::from(le16(sb, 0x58));
        if inode_size < 128 || inode_size > block_size || !inode_size.is_power_of_two() {
            return corrupt(format!("inode size {inode_size}"));
        }
        let first_inode = le32(sb, 0x54);
        if first_inode <= ROOT || first_inode > inodes {
            return corrupt(format!("first inode {first_inode}"));
        }
        let (compat, incompat, ro_compat) = (le32(sb, 0x5c), le32(sb, 0x60), le32(sb, 0x64));
        let mut refused = String::new();
        feature_names(compat & !COMPAT_WRITABLE, &COMPAT_NAMES, &mut refused);
        feature_names(incompat & !INCOMPAT_WRITABLE, &INCOMPAT_NAMES, &mut refused);
        feature_names(
            ro_compat & !RO_COMPAT_WRITABLE,
            &RO_COMPAT_NAMES,
            &mut refused,
        );
        if block_size > 4096 {
            if !refused.is_empty() {
                refused.push_str(", ");
            }
            refused.push_str(&format!("{block_size}-byte blocks"));
        }
        Ok(Self {
            inodes,
            blocks,
            first_data_block,
            block_size,
            blocks_per_group,
            inodes_per_group,
            inode_size,
            first_inode,
            groups,
            incompat,
            ro_compat,
            time: le32(sb, 0x2c).max(le32(sb, 0x30)).max(inodes + 1),
            read_only: (!refused.is_empty()).then_some(refused),
        })
    }

    /// Whether directory entries carry a file type.
    pub fn file_types(&self) -> bool {
        self.incompat & INCOMPAT_FILETYPE != 0
    }

    /// Entries of block numbers in one block.
    pub fn per_block(&self) -> u64 {
        u64::from(self.block_size / 4)
    }

    /// Largest file size a block map can address.
    pub fn max_file_size(&self) -> u64 {
        let per = self.per_block();
        (12 + per + per * per + per * per * per) * u64::from(self.block_size)
    }

    /// The block holding the superblock, and its offset in that block.
    pub fn location(&self) -> (u64, usize) {
        (
            OFFSET / u64::from(self.block_size),
            (OFFSET % u64::from(self.block_size)) as usize,
        )
    }

    /// Blocks group `group` spans (the last group may be short).
    pub fn blocks_in_group(&self, group: u32) -> u32 {
        let start = self.first_data_block + group * self.blocks_per_group;
        (self.blocks - start).min(self.blocks_per_group)
    }
}
