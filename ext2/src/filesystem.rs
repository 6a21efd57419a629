//! A mounted ext2 filesystem: the superblock, the block cache, and the
//! inode table. The operations live beside it, one concern per file
//! ([`crate::allocation`], [`crate::block_map`], [`crate::file`],
//! [`crate::directory`], [`crate::paths`]); this file mounts, reads and
//! writes inodes, and syncs.
//!
//! Everything read from the disk is checked before it is used: a block
//! number outside the filesystem, an inode number outside the table or a
//! malformed directory entry becomes [`Error::Corrupt`], never a panic or
//! a request beyond the disk.

use alloc::format;

use crate::cache::{BlockCache, Kind as CacheKind};
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::inode::Inode;
use crate::superblock::{self, Superblock, le32};

/// Blocks the cache holds before it writes back and starts afresh.
pub const CACHE_BLOCKS: usize = 512;

/// A mounted ext2 filesystem on `D`.
pub struct Ext2<D> {
    pub(crate) cache: BlockCache<D>,
    pub(crate) sb: Superblock,
}

impl<D: BlockDevice> Ext2<D> {
    /// Mounts the filesystem on `device`, checking its superblock and
    /// every group's bitmaps and inode table.
    pub fn mount(mut device: D) -> Result<Self> {
        let mut raw = [0u8; 1024];
        device
            .read(superblock::OFFSET, &mut raw)
            .map_err(|error| Error::Device(format!("{error}")))?;
        let sb = Superblock::parse(&raw, device.size())?;
        let cache = BlockCache::new(device, sb.block_size as usize, CACHE_BLOCKS);
        let mut fs = Self { cache, sb };
        for group in 0..fs.sb.groups {
            fs.group_places(group)?;
        }
        Ok(fs)
    }

    /// The checked superblock.
    pub fn superblock(&self) -> &Superblock {
        &self.sb
    }

    /// The block cache (to see what it holds).
    pub fn cache(&self) -> &BlockCache<D> {
        &self.cache
    }

    /// Ends the mount without syncing, returning the device.
    pub fn into_device(self) -> D {
        self.cache.into_device()
    }

    /// Why writes are refused, if they are.
    pub fn read_only(&self) -> Option<&str> {
        self.sb.read_only.as_deref()
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        match &self.sb.read_only {
            Some(features) => Err(Error::ReadOnly(features.clone())),
            None => Ok(()),
        }
    }

    /// Writes every dirty block (file data first) and flushes the device.
    pub fn sync(&mut self) -> Result<()> {
        self.cache.sync()
    }

    /// Lets the cache write back if it holds too much; called between
    /// operations only, when the cached metadata is consistent.
    pub(crate) fn settle(&mut self) -> Result<()> {
        self.cache.trim()
    }

    /// Checks that `block` lies inside the filesystem's data area.
    pub(crate) fn check_block(&self, block: u64, whose: &str) -> Result<u64> {
        if block < u64::from(self.sb.first_data_block) + 1 || block >= u64::from(self.sb.blocks) {
            return Err(Error::corrupt(format!(
                "{whose} names block {block}, outside the filesystem's blocks {}..{}",
                self.sb.first_data_block + 1,
                self.sb.blocks
            )));
        }
        Ok(block)
    }

    /// Group `group`'s descriptor: where it lies (block, offset).
    pub(crate) fn descriptor_at(&self, group: u32) -> (u64, usize) {
        let byte = u64::from(group) * 32;
        let block_size = u64::from(self.sb.block_size);
        (
            u64::from(self.sb.first_data_block) + 1 + byte / block_size,
            (byte % block_size) as usize,
        )
    }

    /// Group `group`'s block bitmap, inode bitmap and inode table, checked
    /// to lie inside the filesystem.
    pub(crate) fn group_places(&mut self, group: u32) -> Result<(u64, u64, u64)> {
        let (block, offset) = self.descriptor_at(group);
        let table_blocks = (u64::from(self.sb.inodes_per_group) * u64::from(self.sb.inode_size))
            .div_ceil(u64::from(self.sb.block_size));
        let descriptor = &self.cache.read(block)?[offset..offset + 32];
        let places = [
            le32(descriptor, 0x0),
            le32(descriptor, 0x4),
            le32(descriptor, 0x8),
        ];
        for (index, start) in places.iter().enumerate() {
            let len = if index == 2 { table_blocks } else { 1 };
            let start = u64::from(*start);
            if start <= block || start + len > u64::from(self.sb.blocks) {
                return Err(Error::corrupt(format!(
                    "group {group}: {} at block {start} lies outside the filesystem",
                    ["block bitmap", "inode bitmap", "inode table"][index]
                )));
            }
        }
        Ok((
            u64::from(places[0]),
            u64::from(places[1]),
            u64::from(places[2]),
        ))
    }

    /// Where inode `number`'s bytes lie: block and offset.
    fn inode_at(&mut self, number: u32) -> Result<(u64, usize)> {
        if number == 0 || number > self.sb.inodes {
            return Err(Error::corrupt(format!(
                "inode number {number} is outside 1..={}",
                self.sb.inodes
            )));
        }
        let index = number - 1;
        let (_, _, table) = self.group_places(index / self.sb.inodes_per_group)?;
        let byte = u64::from(index % self.sb.inodes_per_group) * u64::from(self.sb.inode_size);
        let block_size = u64::from(self.sb.block_size);
        Ok((table + byte / block_size, (byte % block_size) as usize))
    }

    /// Reads inode `number`.
    pub fn read_inode(&mut self, number: u32) -> Result<Inode> {
        let (block, offset) = self.inode_at(number)?;
        let size = self.sb.inode_size as usize;
        Ok(Inode::from_bytes(
            &self.cache.read(block)?[offset..offset + size],
        ))
    }

    /// Writes inode `number` (into the cache).
    pub(crate) fn write_inode(&mut self, number: u32, inode: &Inode) -> Result<()> {
        let (block, offset) = self.inode_at(number)?;
        let size = self.sb.inode_size as usize;
        self.cache.modify(block, CacheKind::Metadata)?[offset..offset + size]
            .copy_from_slice(inode.bytes());
        Ok(())
    }

    /// The time new and changed inodes get.
    pub(crate) fn now(&self) -> u32 {
        self.sb.time
    }

    /// Sets the time later changes are stamped with (seconds since 1970).
    pub fn set_time(&mut self, now: u32) {
        self.sb.time = now.max(self.sb.inodes + 1);
    }
}
