//! Allocating and freeing blocks and inodes: the groups' bitmaps, and the
//! free counts kept twice (in each group descriptor and in the
//! superblock), always changed together.
//!
//! A search starts in a goal group (the file's own, so its blocks stay
//! near its inode) and wraps round the rest. A bitmap that offers one of
//! its own group's bitmaps or inode-table blocks as free is reported as
//! corrupt rather than believed, and freeing something already free is
//! corrupt too.

use alloc::format;

use crate::cache::Kind;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::filesystem::Ext2;
use crate::superblock::{le16, le32, put16, put32};

/// Descriptor fields: free blocks, free inodes, directories.
const FREE_BLOCKS: usize = 0xc;
const FREE_INODES: usize = 0xe;
const DIRECTORIES: usize = 0x10;
/// Superblock fields: free blocks, free inodes.
const SB_FREE_BLOCKS: usize = 0xc;
const SB_FREE_INODES: usize = 0x10;

impl<D: BlockDevice> Ext2<D> {
    /// Adds `delta` to a 16-bit field of group `group`'s descriptor.
    fn adjust_descriptor(&mut self, group: u32, field: usize, delta: i32) -> Result<()> {
        let (block, offset) = self.descriptor_at(group);
        let bytes = self.cache.modify(block, Kind::Metadata)?;
        let value = i32::from(le16(bytes, offset + field)) + delta;
        put16(bytes, offset + field, value.clamp(0, 0xffff) as u16);
        Ok(())
    }

    /// Adds `delta` to a 32-bit counter of the superblock.
    fn adjust_superblock(&mut self, field: usize, delta: i64) -> Result<()> {
        let (block, offset) = self.sb.location();
        let bytes = self.cache.modify(block, Kind::Metadata)?;
        let value = i64::from(le32(bytes, offset + field)) + delta;
        put32(bytes, offset + field, value.clamp(0, 0xffff_ffff) as u32);
        Ok(())
    }

    /// The first clear bit of `bitmap` from `start` below `limit`.
    fn find_clear(&mut self, bitmap: u64, start: u32, limit: u32) -> Result<Option<u32>> {
        let bytes = self.cache.read(bitmap)?;
        let mut bit = start;
        while bit < limit {
            let byte = bytes[(bit / 8) as usize];
            if byte == 0xff && bit.is_multiple_of(8) {
                bit += 8;
                continue;
            }
            if byte & (1 << (bit % 8)) == 0 {
                return Ok(Some(bit));
            }
            bit += 1;
        }
        Ok(None)
    }

    /// Sets (`used`) or clears bit `bit` of `bitmap`; fails if it already
    /// had that value.
    fn flip(&mut self, bitmap: u64, bit: u32, used: bool, what: &str) -> Result<()> {
        let bytes = self.cache.modify(bitmap, Kind::Metadata)?;
        let (index, mask) = ((bit / 8) as usize, 1u8 << (bit % 8));
        if (bytes[index] & mask != 0) == used {
            return Err(Error::corrupt(format!(
                "{what} is already {} in its bitmap",
                if used { "in use" } else { "free" }
            )));
        }
        bytes[index] ^= mask;
        Ok(())
    }

    /// Allocates a block, preferably at or after `goal`; the caller
    /// fills it (through the cache) before the next settle.
    pub(crate) fn allocate_block(&mut self, goal: u64) -> Result<u64> {
        let first = u64::from(self.sb.first_data_block);
        let per_group = u64::from(self.sb.blocks_per_group);
        let goal = goal.clamp(first, u64::from(self.sb.blocks) - 1) - first;
        let goal_group = (goal / per_group) as u32;
        for step in 0..self.sb.groups {
            let group = (goal_group + step) % self.sb.groups;
            let start = if step == 0 {
                (goal % per_group) as u32
            } else {
                0
            };
            let (bitmap, inode_bitmap, table) = self.group_places(group)?;
            let limit = self.sb.blocks_in_group(group);
            let found = match self.find_clear(bitmap, start, limit)? {
                Some(bit) => Some(bit),
                None if start > 0 => self.find_clear(bitmap, 0, start)?,
                None => None,
            };
            let Some(bit) = found else { continue };
            let block = first + u64::from(group) * per_group + u64::from(bit);
            let table_blocks = (u64::from(self.sb.inodes_per_group)
                * u64::from(self.sb.inode_size))
            .div_ceil(u64::from(self.sb.block_size));
            if block == bitmap
                || block == inode_bitmap
                || (table..table + table_blocks).contains(&block)
            {
                return Err(Error::corrupt(format!(
                    "group {group}'s block bitmap marks its own metadata block {block} free"
                )));
            }
            self.check_block(block, "the block bitmap")?;
            self.flip(bitmap, bit, true, &format!("block {block}"))?;
            self.adjust_descriptor(group, FREE_BLOCKS, -1)?;
            self.adjust_superblock(SB_FREE_BLOCKS, -1)?;
            return Ok(block);
        }
        Err(Error::NoSpace)
    }

    /// Frees block `block`.
    pub(crate) fn free_block(&mut self, block: u64) -> Result<()> {
        self.check_block(block, "a freed block")?;
        let relative = block - u64::from(self.sb.first_data_block);
        let per_group = u64::from(self.sb.blocks_per_group);
        let group = (relative / per_group) as u32;
        let (bitmap, _, _) = self.group_places(group)?;
        self.flip(
            bitmap,
            (relative % per_group) as u32,
            false,
            &format!("block {block}"),
        )?;
        self.adjust_descriptor(group, FREE_BLOCKS, 1)?;
        self.adjust_superblock(SB_FREE_BLOCKS, 1)
    }

    /// Allocates an inode, preferably in group `goal_group`, counting a
    /// directory as one.
    pub(crate) fn allocate_inode(&mut self, goal_group: u32, directory: bool) -> Result<u32> {
        let per_group = self.sb.inodes_per_group;
        for step in 0..self.sb.groups {
            let group = (goal_group % self.sb.groups + step) % self.sb.groups;
            let (_, bitmap, _) = self.group_places(group)?;
            // Inodes below the first ordinary one are reserved.
            let start = (self.sb.first_inode - 1).saturating_sub(group * per_group);
            let Some(bit) = self.find_clear(bitmap, start.min(per_group), per_group)? else {
                continue;
            };
            let number = group * per_group + bit + 1;
            self.flip(bitmap, bit, true, &format!("inode {number}"))?;
            self.adjust_descriptor(group, FREE_INODES, -1)?;
            if directory {
                self.adjust_descriptor(group, DIRECTORIES, 1)?;
            }
            self.adjust_superblock(SB_FREE_INODES, -1)?;
            return Ok(number);
        }
        Err(Error::NoSpace)
    }

    /// Frees inode `number` (a directory's is uncounted as one).
    pub(crate) fn free_inode(&mut self, number: u32, directory: bool) -> Result<()> {
        if number < self.sb.first_inode || number > self.sb.inodes {
            return Err(Error::corrupt(format!("freeing reserved inode {number}")));
        }
        let index = number - 1;
        let group = index / self.sb.inodes_per_group;
        let (_, bitmap, _) = self.group_places(group)?;
        self.flip(
            bitmap,
            index % self.sb.inodes_per_group,
            false,
            &format!("inode {number}"),
        )?;
        self.adjust_descriptor(group, FREE_INODES, 1)?;
        if directory {
            self.adjust_descriptor(group, DIRECTORIES, -1)?;
        }
        self.adjust_superblock(SB_FREE_INODES, 1)
    }

    /// The group inode `number` lives in.
    pub(crate) fn group_of(&self, number: u32) -> u32 {
        (number.max(1) - 1) / self.sb.inodes_per_group
    }

    /// The first block of group `group` (a goal for files in it).
    pub(crate) fn group_start(&self, group: u32) -> u64 {
        u64::from(self.sb.first_data_block) + u64::from(group) * u64::from(self.sb.blocks_per_group)
    }
}
