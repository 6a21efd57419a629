//! Block maps: an inode's 12 direct block numbers and its single, double
//! and triple indirect blocks. Maps a file's block index to a disk block,
//! allocates the missing blocks of a path on a write, and frees every
//! block from an index on (indirect blocks included, once nothing under
//! them is left) on a truncate.
//!
//! `i_blocks` counts every block held, indirect ones too, in 512-byte
//! units. Each pointer read from the disk is checked to lie in the
//! filesystem before it is followed or freed.

use alloc::vec::Vec;

use crate::cache::Kind;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::filesystem::Ext2;
use crate::inode::{FLAG_EXTENTS, Inode};
use crate::superblock::{le32, put32};

/// Direct pointers in an inode.
const DIRECT: u64 = 12;

/// The slots leading to one file block: the inode's slot, then one index
/// per level of indirect block.
struct Route {
    slot: usize,
    indexes: Vec<usize>,
}

impl<D: BlockDevice> Ext2<D> {
    fn route(&self, index: u64) -> Result<Route> {
        let per = self.sb.per_block();
        let mut rest = index;
        if rest < DIRECT {
            return Ok(Route {
                slot: rest as usize,
                indexes: Vec::new(),
            });
        }
        rest -= DIRECT;
        let mut span = per;
        for level in 1..=3usize {
            if rest < span {
                let mut indexes = Vec::with_capacity(level);
                let mut unit = span / per;
                for _ in 0..level {
                    indexes.push((rest / unit % per) as usize);
                    unit /= per;
                }
                return Ok(Route {
                    slot: 11 + level,
                    indexes,
                });
            }
            rest -= span;
            span *= per;
        }
        Err(Error::TooLarge)
    }

    fn check_mapped(&self, inode: &Inode) -> Result<()> {
        if inode.flags() & FLAG_EXTENTS != 0 {
            return Err(Error::corrupt(
                "an inode of an ext2 filesystem uses extents",
            ));
        }
        Ok(())
    }

    /// Reads entry `index` of indirect block `block`.
    fn pointer(&mut self, block: u64, index: usize) -> Result<u64> {
        Ok(u64::from(le32(self.cache.read(block)?, 4 * index)))
    }

    /// The disk block holding block `index` of `inode`, `None` in a hole.
    pub(crate) fn map(&mut self, inode: &Inode, index: u64) -> Result<Option<u64>> {
        self.check_mapped(inode)?;
        let route = self.route(index)?;
        let mut block = u64::from(inode.block(route.slot));
        for &entry in &route.indexes {
            if block == 0 {
                return Ok(None);
            }
            self.check_block(block, "an indirect block pointer")?;
            block = self.pointer(block, entry)?;
        }
        if block == 0 {
            return Ok(None);
        }
        self.check_block(block, "a block pointer").map(Some)
    }

    /// Allocates a block near `goal` for `inode`, counting it.
    fn allocate_for(&mut self, inode: &mut Inode, goal: u64) -> Result<u64> {
        let block = self.allocate_block(goal)?;
        let sectors = self.sb.block_size / 512;
        inode.set_sectors(inode.sectors().saturating_add(sectors));
        Ok(block)
    }

    /// The disk block for block `index` of `inode`, allocating it and the
    /// indirect blocks on its way if missing; `true` when the data block
    /// is new (and zeroed). `inode` is changed, not written.
    pub(crate) fn map_or_allocate(
        &mut self,
        inode: &mut Inode,
        index: u64,
        goal: u64,
    ) -> Result<(u64, bool)> {
        self.check_mapped(inode)?;
        let route = self.route(index)?;
        let mut block = u64::from(inode.block(route.slot));
        let last = route.indexes.len();
        if block == 0 {
            block = self.allocate_for(inode, goal)?;
            let kind = if last == 0 {
                Kind::Data
            } else {
                Kind::Metadata
            };
            self.cache.zeroed(block, kind);
            inode.set_block(route.slot, block as u32);
            if last == 0 {
                return Ok((block, true));
            }
        } else {
            self.check_block(block, "a block pointer")?;
        }
        for (depth, &entry) in route.indexes.iter().enumerate() {
            let next = self.pointer(block, entry)?;
            if next != 0 {
                block = self.check_block(next, "a block pointer")?;
                continue;
            }
            let fresh = self.allocate_for(inode, block + 1)?;
            let kind = if depth + 1 == last {
                Kind::Data
            } else {
                Kind::Metadata
            };
            self.cache.zeroed(fresh, kind);
            put32(
                self.cache.modify(block, Kind::Metadata)?,
                4 * entry,
                fresh as u32,
            );
            block = fresh;
            if depth + 1 == last {
                return Ok((block, true));
            }
        }
        Ok((block, false))
    }

    /// Frees every block of `inode` from block index `first` on, and the
    /// indirect blocks left empty. `inode` is changed, not written.
    pub(crate) fn free_from(&mut self, inode: &mut Inode, first: u64) -> Result<()> {
        self.check_mapped(inode)?;
        let per = self.sb.per_block();
        for slot in (first.min(DIRECT) as usize)..DIRECT as usize {
            let block = u64::from(inode.block(slot));
            if block != 0 {
                self.release(inode, block)?;
                inode.set_block(slot, 0);
            }
        }
        let mut base = DIRECT;
        let mut span = per;
        for level in 1..=3u32 {
            let slot = 11 + level as usize;
            let root = u64::from(inode.block(slot));
            if root != 0
                && base + span > first
                && self.free_tree(inode, root, level, base, first)?
            {
                inode.set_block(slot, 0);
            }
            base += span;
            span *= per;
        }
        Ok(())
    }

    /// Frees a block held by `inode`, uncounting it.
    fn release(&mut self, inode: &mut Inode, block: u64) -> Result<()> {
        self.free_block(block)?;
        let sectors = self.sb.block_size / 512;
        inode.set_sectors(inode.sectors().saturating_sub(sectors));
        Ok(())
    }

    /// Frees what indirect block `block` (of `level`, covering file blocks
    /// from `base`) maps from `first` on; returns whether it was freed
    /// itself (nothing under it left).
    fn free_tree(
        &mut self,
        inode: &mut Inode,
        block: u64,
        level: u32,
        base: u64,
        first: u64,
    ) -> Result<bool> {
        self.check_block(block, "an indirect block pointer")?;
        let per = self.sb.per_block();
        let child_span = per.pow(level - 1);
        let mut kept = false;
        for entry in 0..per as usize {
            let child = self.pointer(block, entry)?;
            if child == 0 {
                continue;
            }
            let child_base = base + entry as u64 * child_span;
            if child_base + child_span <= first {
                kept = true;
                continue;
            }
            let freed = match level {
                1 => {
                    self.release(inode, self.check_block(child, "a block pointer")?)?;
                    true
                }
                _ => self.free_tree(inode, child, level - 1, child_base, first)?,
            };
            if freed {
                put32(self.cache.modify(block, Kind::Metadata)?, 4 * entry, 0);
            } else {
                kept = true;
            }
        }
        if kept {
            return Ok(false);
        }
        self.release(inode, block)?;
        Ok(true)
    }

    /// Every block `inode` holds, indirect ones included (for checks).
    pub fn held_blocks(&mut self, number: u32) -> Result<u64> {
        let inode = self.read_inode(number)?;
        Ok(u64::from(inode.sectors()) / u64::from(self.sb.block_size / 512))
    }
}
