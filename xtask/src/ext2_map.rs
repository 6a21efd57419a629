//! A map of a freshly made ext2 image, read on the host: where each inode
//! lives and which blocks hold each file's data, indirect blocks and
//! directory entries. The damage step uses it to aim targeted corruptions
//! and to tell which files a random corruption could have changed
//! undetectably.
//!
//! Only what `mke2fs -t ext2` writes is handled (block maps, no extents);
//! the images it reads are ours, so a surprise is an error, not a guess.

use std::ops::Range;

fn le16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// A pristine ext2 image and its geometry.
pub struct Ext2Map<'a> {
    image: &'a [u8],
    pub block_size: u64,
    pub blocks: u64,
    inodes_per_group: u64,
    inode_size: u64,
    descriptor_table: u64,
}

/// The blocks of one inode.
#[derive(Debug, Default)]
pub struct InodeBlocks {
    /// Data blocks in file order (0 for a hole).
    pub data: Vec<u64>,
    /// Indirect blocks.
    pub indirect: Vec<u64>,
}

impl<'a> Ext2Map<'a> {
    pub fn new(image: &'a [u8]) -> Result<Self, String> {
        let sb = image.get(1024..2048).ok_or("image too small")?;
        if le16(sb, 0x38) != 0xef53 || le32(sb, 0x60) & 0x40 != 0 {
            return Err("not an ext2 image with block maps".into());
        }
        let block_size = 1024u64 << le32(sb, 0x18);
        Ok(Self {
            image,
            block_size,
            blocks: le32(sb, 0x4) as u64,
            inodes_per_group: le32(sb, 0x28) as u64,
            inode_size: le16(sb, 0x58) as u64,
            descriptor_table: le32(sb, 0x14) as u64 + 1,
        })
    }

    /// Byte range of block `number`.
    pub fn block(&self, number: u64) -> Range<usize> {
        let start = (number * self.block_size) as usize;
        start..start + self.block_size as usize
    }

    /// Byte range of group `group`'s descriptor.
    pub fn descriptor(&self, group: u64) -> Range<usize> {
        let start = (self.descriptor_table * self.block_size + 32 * group) as usize;
        start..start + 32
    }

    /// Byte range of inode `number`.
    pub fn inode(&self, number: u64) -> Range<usize> {
        let group = (number - 1) / self.inodes_per_group;
        let index = (number - 1) % self.inodes_per_group;
        let table = le32(self.image, self.descriptor(group).start + 8) as u64;
        let start = (table * self.block_size + index * self.inode_size) as usize;
        start..start + self.inode_size as usize
    }

    fn pointers(&self, block: u64) -> Vec<u64> {
        let bytes = &self.image[self.block(block)];
        (0..bytes.len() / 4)
            .map(|i| le32(bytes, 4 * i) as u64)
            .collect()
    }

    /// The blocks of inode `number` (fast symlinks have none).
    pub fn blocks(&self, number: u64) -> InodeBlocks {
        let raw = &self.image[self.inode(number)];
        let size = le32(raw, 4) as u64 | (le32(raw, 108) as u64) << 32;
        let mode = le16(raw, 0);
        let count = size.div_ceil(self.block_size) as usize;
        let mut result = InodeBlocks::default();
        if mode & 0xf000 == 0xa000 && le32(raw, 28) == 0 {
            return result;
        }
        let slots: Vec<u64> = (0..15).map(|i| le32(raw, 40 + 4 * i) as u64).collect();
        result.data.extend(&slots[..12]);
        let walk = |root: u64, depth: u32, result: &mut InodeBlocks| {
            let mut level = vec![root];
            for _ in 0..depth {
                let mut next = Vec::new();
                for block in level.into_iter().filter(|b| *b != 0) {
                    result.indirect.push(block);
                    next.extend(self.pointers(block));
                }
                level = next;
            }
            result.data.extend(level);
        };
        for (slot, depth) in [(12, 1), (13, 2), (14, 3)] {
            if result.data.len() < count && slots[slot] != 0 {
                walk(slots[slot], depth, &mut result);
            }
        }
        result.data.truncate(count);
        result
    }

    /// The entries of directory inode `number`: name and inode.
    pub fn entries(&self, number: u64) -> Vec<(String, u64)> {
        let mut entries = Vec::new();
        for block in self.blocks(number).data.into_iter().filter(|b| *b != 0) {
            let bytes = &self.image[self.block(block)];
            let mut at = 0;
            while at + 8 <= bytes.len() {
                let inode = le32(bytes, at) as u64;
                let length = le16(bytes, at + 4) as usize;
                let name_length = bytes[at + 6] as usize;
                if length < 8 {
                    break;
                }
                if inode != 0 {
                    let name = &bytes[at + 8..at + 8 + name_length];
                    entries.push((String::from_utf8_lossy(name).into_owned(), inode));
                }
                at += length;
            }
        }
        entries
    }

    /// The inodes along `path` (absolute, no links), root first.
    pub fn path_inodes(&self, path: &str) -> Result<Vec<u64>, String> {
        let mut inodes = vec![2];
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let here = *inodes.last().unwrap();
            let (_, next) = self
                .entries(here)
                .into_iter()
                .find(|(name, _)| name == part)
                .ok_or_else(|| format!("{path}: not in the image"))?;
            inodes.push(next);
        }
        Ok(inodes)
    }

    /// Every byte range whose content decides what reading `path` gives:
    /// the inodes along it, their directory blocks, and the file's own
    /// data and indirect blocks.
    pub fn content_ranges(&self, path: &str) -> Result<Vec<Range<usize>>, String> {
        let mut ranges = Vec::new();
        for inode in self.path_inodes(path)? {
            ranges.push(self.inode(inode));
            let blocks = self.blocks(inode);
            for block in blocks.data.iter().chain(&blocks.indirect) {
                if *block != 0 {
                    ranges.push(self.block(*block));
                }
            }
        }
        Ok(ranges)
    }
}
