//! The write-back block cache every filesystem access goes through.
//!
//! Reads fill it; writes only mark a cached block dirty, as file data or
//! as metadata. [`BlockCache::write_back`] writes every dirty block, file
//! data first and metadata after it (so metadata on the disk never points
//! at data that is not there yet), and [`BlockCache::sync`] adds the
//! device's flush. The filesystem calls [`BlockCache::trim`] only between
//! operations, when the blocks it holds describe a consistent filesystem:
//! if the cache holds more than its limit, trimming forgets clean blocks
//! and, when dirty ones fill half of it, writes everything back, so
//! whatever reaches the disk early is still a filesystem `e2fsck` accepts.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::error::{Error, Result};

/// What a dirty block holds, which decides when it is written back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// File contents.
    Data,
    /// Everything else: superblock, descriptors, bitmaps, inodes,
    /// indirect blocks, directories.
    Metadata,
}

struct Cached {
    bytes: Vec<u8>,
    dirty: Option<Kind>,
}

/// Blocks of one filesystem, cached over its device.
pub struct BlockCache<D> {
    device: D,
    block_size: usize,
    blocks: BTreeMap<u64, Cached>,
    limit: usize,
}

impl<D: BlockDevice> BlockCache<D> {
    /// A cache of `block_size`-byte blocks holding about `limit` of them.
    pub fn new(device: D, block_size: usize, limit: usize) -> Self {
        Self {
            device,
            block_size,
            blocks: BTreeMap::new(),
            limit: limit.max(16),
        }
    }

    /// The device underneath (what it holds may lag behind the cache).
    pub fn device(&self) -> &D {
        &self.device
    }

    /// Ends the cache, returning the device; unsynced writes are lost.
    pub fn into_device(self) -> D {
        self.device
    }

    /// Blocks held, and how many of them are dirty.
    pub fn held(&self) -> (usize, usize) {
        let dirty = self.blocks.values().filter(|b| b.dirty.is_some()).count();
        (self.blocks.len(), dirty)
    }

    fn load(&mut self, block: u64) -> Result<&mut Cached> {
        if !self.blocks.contains_key(&block) {
            let mut bytes = vec![0; self.block_size];
            let offset = block
                .checked_mul(self.block_size as u64)
                .ok_or_else(|| Error::corrupt(format!("block {block} is beyond any disk")))?;
            self.device
                .read(offset, &mut bytes)
                .map_err(|error| Error::Device(format!("{error}")))?;
            self.blocks.insert(block, Cached { bytes, dirty: None });
        }
        Ok(self.blocks.get_mut(&block).expect("just inserted"))
    }

    /// Block `block`'s bytes.
    pub fn read(&mut self, block: u64) -> Result<&[u8]> {
        Ok(&self.load(block)?.bytes)
    }

    /// Block `block`'s bytes to change, marked dirty as `kind`.
    pub fn modify(&mut self, block: u64, kind: Kind) -> Result<&mut [u8]> {
        let cached = self.load(block)?;
        cached.dirty = Some(kind);
        Ok(&mut cached.bytes)
    }

    /// Block `block` as zeros, dirty as `kind`, without reading it (a
    /// block just allocated).
    pub fn zeroed(&mut self, block: u64, kind: Kind) -> &mut [u8] {
        let cached = self.blocks.entry(block).or_insert_with(|| Cached {
            bytes: Vec::new(),
            dirty: None,
        });
        cached.bytes.clear();
        cached.bytes.resize(self.block_size, 0);
        cached.dirty = Some(kind);
        &mut cached.bytes
    }

    /// Writes every dirty block: file data, then metadata.
    pub fn write_back(&mut self) -> Result<()> {
        for kind in [Kind::Data, Kind::Metadata] {
            for (block, cached) in self.blocks.iter_mut() {
                if cached.dirty != Some(kind) {
                    continue;
                }
                self.device
                    .write(block * self.block_size as u64, &cached.bytes)
                    .map_err(|error| Error::Device(format!("{error}")))?;
                cached.dirty = None;
            }
        }
        Ok(())
    }

    /// Writes every dirty block back and flushes the device.
    pub fn sync(&mut self) -> Result<()> {
        self.write_back()?;
        self.device
            .flush()
            .map_err(|error| Error::Device(format!("{error}")))
    }

    /// If more than the limit is held, forgets the clean blocks; if the
    /// dirty ones alone are more than half the limit, writes them back
    /// and forgets them too. Call only when the cached metadata is
    /// consistent.
    pub fn trim(&mut self) -> Result<()> {
        if self.blocks.len() <= self.limit {
            return Ok(());
        }
        self.blocks.retain(|_, cached| cached.dirty.is_some());
        if self.blocks.len() <= self.limit / 2 {
            return Ok(());
        }
        self.write_back()?;
        self.blocks.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::MemoryDevice;

    #[test]
    fn writes_stay_in_the_cache_until_written_back() {
        let mut cache = BlockCache::new(MemoryDevice::new(vec![0; 8192]), 1024, 16);
        cache.modify(3, Kind::Metadata).unwrap()[0] = 7;
        cache.zeroed(5, Kind::Data)[1] = 9;
        assert_eq!(cache.read(3).unwrap()[0], 7);
        assert_eq!(cache.device().bytes[3072], 0);
        assert_eq!(cache.held(), (2, 2));
        cache.sync().unwrap();
        assert_eq!(cache.device().bytes[3072], 7);
        assert_eq!(cache.device().bytes[5121], 9);
        assert_eq!(cache.device().flushes, 1);
        assert_eq!(cache.held(), (2, 0));
    }

    #[test]
    fn trimming_writes_back_and_forgets() {
        let mut cache = BlockCache::new(MemoryDevice::new(vec![0; 64 * 1024]), 1024, 16);
        for block in 0..20 {
            cache.modify(block, Kind::Data).unwrap()[0] = block as u8 + 1;
        }
        cache.trim().unwrap();
        assert_eq!(cache.held(), (0, 0));
        assert_eq!(cache.device().bytes[19 * 1024], 20);
        assert_eq!(cache.device().flushes, 0);
    }

    #[test]
    fn trimming_forgets_clean_blocks_first() {
        let mut cache = BlockCache::new(MemoryDevice::new(vec![0; 64 * 1024]), 1024, 16);
        cache.modify(40, Kind::Metadata).unwrap()[0] = 1;
        for block in 0..20 {
            cache.read(block).unwrap();
        }
        cache.trim().unwrap();
        assert_eq!(cache.held(), (1, 1));
        assert_eq!(cache.device().writes, 0);
    }

    #[test]
    fn a_read_beyond_the_device_is_an_error() {
        let mut cache = BlockCache::new(MemoryDevice::new(vec![0; 4096]), 1024, 16);
        assert!(matches!(cache.read(4), Err(Error::Device(_))));
        assert!(matches!(cache.read(u64::MAX), Err(Error::Corrupt(_))));
    }
}
