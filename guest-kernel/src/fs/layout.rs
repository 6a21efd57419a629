//! The checks made at mount, before anything else trusts the disk: the
//! superblock's magic, revision, feature flags and geometry, and every
//! block group descriptor's bitmaps and inode table.
//!
//! `ext4-view` checks what it needs to read safely; this adds what it
//! leaves out, so that a damaged geometry is refused at mount with one line
//! naming the field, instead of sending inode lookups into the wrong group
//! (which reads the wrong inode without any error).

use alloc::format;
use alloc::string::String;
use alloc::vec;

use ext2::superblock::{INCOMPAT_NAMES, RO_COMPAT_NAMES, feature_names, le16, le32};

use super::disk::ReadAt;
use super::error::FsError;

const SUPERBLOCK_OFFSET: u64 = 1024;
const MAGIC: u16 = 0xef53;

/// Incompatible features this reader understands (file type in directory
/// entries, needs recovery, extents, 64-bit, flexible groups, checksum seed).
const INCOMPAT_SUPPORTED: u32 = 0x2 | 0x4 | 0x40 | 0x80 | 0x200 | 0x2000;
const INCOMPAT_64BIT: u32 = 0x80;
const INCOMPAT_EXTENTS: u32 = 0x40;
/// Read-only-compatible features that change nothing a reader sees
/// (sparse superblocks, large files, huge files, group descriptor
/// checksums, directory link counts, extra inode size, quota, metadata
/// checksums, read-only, projects, verity, orphan file).
const RO_COMPAT_SUPPORTED: u32 =
    0x1 | 0x2 | 0x8 | 0x10 | 0x20 | 0x40 | 0x100 | 0x400 | 0x1000 | 0x2000 | 0x8000 | 0x10000;
const COMPAT_HAS_JOURNAL: u32 = 0x4;

/// `bits` spelled as feature names.
fn named(bits: u32, names: &[(u32, &str)]) -> String {
    let mut text = String::new();
    feature_names(bits, names, &mut text);
    text
}

/// What the mount checks found: enough to name the filesystem.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub block_size: u64,
    pub blocks: u64,
    pub groups: u64,
    /// `ext2`, `ext3` or `ext4`.
    pub kind: &'static str,
    /// Whether files may use extents (otherwise all use block maps).
    pub extents: bool,
}

impl Geometry {
    /// Largest file size a block map can address: 12 direct blocks and
    /// single, double and triple indirect ones.
    pub fn block_map_limit(&self) -> u64 {
        let per_block = self.block_size / 4;
        (12 + per_block + per_block * per_block + per_block * per_block * per_block)
            * self.block_size
    }
}

/// Checks the superblock and the group descriptors on `disk`.
pub fn check(disk: &mut impl ReadAt) -> Result<Geometry, FsError> {
    let mut sb = [0u8; 1024];
    disk.read_at(SUPERBLOCK_OFFSET, &mut sb)?;
    let magic = le16(&sb, 0x38);
    if magic != MAGIC {
        return Err(FsError::NotExt(format!(
            "bad magic {magic:#06x} (an ext2/3/4 superblock has 0xef53)"
        )));
    }
    if le32(&sb, 0x4c) == 0 {
        return Err(FsError::Unsupported(
            "revision 0 filesystem (no inode size or features)".into(),
        ));
    }
    let incompat = le32(&sb, 0x60);
    let ro_compat = le32(&sb, 0x64);
    let compat = le32(&sb, 0x5c);
    if incompat & !INCOMPAT_SUPPORTED != 0 {
        return Err(FsError::Unsupported(format!(
            "incompatible features {}",
            named(incompat & !INCOMPAT_SUPPORTED, &INCOMPAT_NAMES)
        )));
    }
    if ro_compat & !RO_COMPAT_SUPPORTED != 0 {
        return Err(FsError::Unsupported(format!(
            "read-only-compatible features {}",
            named(ro_compat & !RO_COMPAT_SUPPORTED, &RO_COMPAT_NAMES)
        )));
    }
    let corrupt = |text: String| Err(FsError::Corrupt(text));
    let log_block = le32(&sb, 0x18);
    if log_block > 6 {
        return corrupt(format!(
            "block size 2^{} is not 1 KiB to 64 KiB",
            10 + log_block as u64
        ));
    }
    let block_size = 1024u64 << log_block;
    let wide = incompat & INCOMPAT_64BIT != 0;
    let blocks = le32(&sb, 0x4) as u64
        | if wide {
            (le32(&sb, 0x150) as u64) << 32
        } else {
            0
        };
    let disk_blocks = disk.size() / block_size;
    if blocks == 0 || blocks > disk_blocks {
        return corrupt(format!(
            "superblock claims {blocks} blocks but the disk holds {disk_blocks}"
        ));
    }
    let first_data = le32(&sb, 0x14) as u64;
    if first_data != u64::from(block_size == 1024) {
        return corrupt(format!(
            "first data block {first_data} (expected {})",
            u64::from(block_size == 1024)
        ));
    }
    let per_group_limit = 8 * block_size;
    let blocks_per_group = le32(&sb, 0x20) as u64;
    if !(8..=per_group_limit).contains(&blocks_per_group) || !blocks_per_group.is_multiple_of(8) {
        return corrupt(format!(
            "blocks per group {blocks_per_group} is not a multiple of 8 from 8 to {per_group_limit}"
        ));
    }
    let inodes_per_group = le32(&sb, 0x28) as u64;
    if !(1..=per_group_limit).contains(&inodes_per_group) {
        return corrupt(format!(
            "inodes per group {inodes_per_group} is not from 1 to {per_group_limit}"
        ));
    }
    let groups = (blocks - first_data).div_ceil(blocks_per_group);
    let inodes = le32(&sb, 0x0) as u64;
    if inodes != inodes_per_group * groups {
        return corrupt(format!(
            "inode count {inodes} is not {groups} groups of {inodes_per_group} inodes"
        ));
    }
    let inode_size = le16(&sb, 0x58) as u64;
    if inode_size < 128 || inode_size > block_size || !inode_size.is_power_of_two() {
        return corrupt(format!(
            "inode size {inode_size} is not a power of two from 128 to the block size"
        ));
    }
    let descriptor_size = if wide { le16(&sb, 0xfe) as u64 } else { 32 };
    if wide && (!(64..=1024).contains(&descriptor_size) || !descriptor_size.is_power_of_two()) {
        return corrupt(format!("group descriptor size {descriptor_size}"));
    }
    let table_start = first_data + 1;
    let table_blocks = (groups * descriptor_size).div_ceil(block_size);
    if table_start + table_blocks > blocks {
        return corrupt(format!(
            "{groups} group descriptors do not fit in the filesystem ({blocks} blocks)"
        ));
    }
    let inode_table_blocks = (inodes_per_group * inode_size).div_ceil(block_size);
    let mut descriptor = vec![0u8; descriptor_size as usize];
    for group in 0..groups {
        disk.read_at(
            table_start * block_size + group * descriptor_size,
            &mut descriptor,
        )?;
        let field = |lo: usize, hi: usize| -> u64 {
            le32(&descriptor, lo) as u64
                | if wide {
                    (le32(&descriptor, hi) as u64) << 32
                } else {
                    0
                }
        };
        let places = [
            ("block bitmap", field(0x0, 0x20), 1),
            ("inode bitmap", field(0x4, 0x24), 1),
            ("inode table", field(0x8, 0x28), inode_table_blocks),
        ];
        for (name, start, len) in places {
            if start < table_start || start.checked_add(len).is_none_or(|end| end > blocks) {
                return corrupt(format!(
                    "group {group}: {name} at block {start} ({len} blocks) lies outside the filesystem's blocks {table_start}..{blocks}"
                ));
            }
        }
    }
    let kind = if incompat & INCOMPAT_EXTENTS != 0 {
        "ext4"
    } else if compat & COMPAT_HAS_JOURNAL != 0 {
        "ext3"
    } else {
        "ext2"
    };
    Ok(Geometry {
        block_size,
        blocks,
        groups,
        kind,
        extents: incompat & INCOMPAT_EXTENTS != 0,
    })
}
