//! File contents: reading and writing at any offset, and truncating to
//! any size, through the block map and the cache.
//!
//! A write allocates blocks one at a time and writes the inode back after
//! each, so the cache may write back between any two blocks and the disk
//! still holds a consistent filesystem; running out of space part-way
//! gives a short write (or [`Error::NoSpace`] if nothing was written).
//! Shrinking frees blocks and zeroes the tail of the last one kept, so
//! growing again reads zeros, as a hole does.

use alloc::vec;
use alloc::vec::Vec;

use crate::cache::Kind as CacheKind;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::filesystem::Ext2;
use crate::inode::{Inode, Kind};
use crate::superblock::RO_COMPAT_LARGE_FILE;
use crate::superblock::{le32, put32};

/// Longest symbolic link target accepted (a path, as Linux's `PATH_MAX`).
pub const MAX_TARGET: u64 = 4095;

impl<D: BlockDevice> Ext2<D> {
    /// Reads `inode`'s bytes from `offset` into `buffer`; returns how many
    /// (0 at or past the end).
    fn read_inode_data(&mut self, inode: &Inode, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        let size = inode.size();
        if offset >= size {
            return Ok(0);
        }
        let count = buffer
            .len()
            .min((size - offset).min(usize::MAX as u64) as usize);
        let block_size = u64::from(self.sb.block_size);
        let mut done = 0;
        while done < count {
            let at = offset + done as u64;
            let within = (at % block_size) as usize;
            let take = (block_size as usize - within).min(count - done);
            let out = &mut buffer[done..done + take];
            match self.map(inode, at / block_size)? {
                Some(block) => out.copy_from_slice(&self.cache.read(block)?[within..within + take]),
                None => out.fill(0),
            }
            done += take;
        }
        Ok(count)
    }

    /// Reads regular file `number` from `offset`; returns the bytes read.
    pub fn read_at(&mut self, number: u32, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        let inode = self.read_inode(number)?;
        match inode.kind() {
            Kind::File => {}
            Kind::Directory => return Err(Error::IsDirectory),
            _ => return Err(Error::Invalid("not a regular file".into())),
        }
        let limit = self.sb.max_file_size();
        if inode.size() > limit {
            return Err(Error::corrupt(alloc::format!(
                "file size {} is more than the {limit} bytes a block map can address",
                inode.size()
            )));
        }
        let read = self.read_inode_data(&inode, offset, buffer)?;
        self.settle()?;
        Ok(read)
    }

    /// A symbolic link's target, checked for length.
    pub fn read_link(&mut self, number: u32) -> Result<Vec<u8>> {
        let inode = self.read_inode(number)?;
        let size = inode.size();
        if size == 0 || size > MAX_TARGET {
            return Err(Error::BadSymlink(size));
        }
        let attribute_sectors = match inode.attribute_block() {
            0 => 0,
            _ => self.sb.block_size / 512,
        };
        if size < 60 && inode.sectors() == attribute_sectors {
            return Ok(inode.block_map_bytes()[..size as usize].to_vec());
        }
        let mut target = vec![0; size as usize];
        let read = self.read_inode_data(&inode, 0, &mut target)?;
        target.truncate(read);
        Ok(target)
    }

    /// A regular file's inode, for a change.
    fn writable_file(&mut self, number: u32) -> Result<Inode> {
        self.check_writable()?;
        let inode = self.read_inode(number)?;
        match inode.kind() {
            Kind::File => Ok(inode),
            Kind::Directory => Err(Error::IsDirectory),
            _ => Err(Error::Invalid("not a regular file".into())),
        }
    }

    /// Sets the size, marking the filesystem as holding large files when
    /// it first gets one.
    fn set_size(&mut self, inode: &mut Inode, size: u64) -> Result<()> {
        if size >= 1 << 31 && self.sb.ro_compat & RO_COMPAT_LARGE_FILE == 0 {
            let (block, offset) = self.sb.location();
            let bytes = self.cache.modify(block, CacheKind::Metadata)?;
            let features = le32(bytes, offset + 0x64) | RO_COMPAT_LARGE_FILE;
            put32(bytes, offset + 0x64, features);
            self.sb.ro_compat |= RO_COMPAT_LARGE_FILE;
        }
        inode.set_size(size);
        Ok(())
    }

    /// Writes `data` into regular file `number` at `offset`, growing it
    /// as needed; returns the bytes written (fewer when space ran out).
    pub fn write_at(&mut self, number: u32, offset: u64, data: &[u8]) -> Result<usize> {
        let mut inode = self.writable_file(number)?;
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or(Error::TooLarge)?;
        if end > self.sb.max_file_size() {
            return Err(Error::TooLarge);
        }
        let block_size = u64::from(self.sb.block_size);
        let mut goal = self.group_start(self.group_of(number));
        let mut done = 0;
        while done < data.len() {
            let at = offset + done as u64;
            let within = (at % block_size) as usize;
            let take = (block_size as usize - within).min(data.len() - done);
            let (block, _) = match self.map_or_allocate(&mut inode, at / block_size, goal) {
                Ok(found) => found,
                Err(error) => {
                    // Indirect blocks allocated on the way stay, counted.
                    self.write_inode(number, &inode)?;
                    self.settle()?;
                    return match error {
                        Error::NoSpace if done > 0 => Ok(done),
                        error => Err(error),
                    };
                }
            };
            let bytes = match take == block_size as usize {
                true => self.cache.zeroed(block, CacheKind::Data),
                false => self.cache.modify(block, CacheKind::Data)?,
            };
            bytes[within..within + take].copy_from_slice(&data[done..done + take]);
            done += take;
            goal = block + 1;
            if at + take as u64 > inode.size() {
                self.set_size(&mut inode, at + take as u64)?;
            }
            inode.touch(self.now());
            self.write_inode(number, &inode)?;
            self.settle()?;
        }
        Ok(done)
    }

    /// Sets regular file `number`'s size: shrinking frees the blocks past
    /// the end, growing leaves a hole.
    pub fn truncate(&mut self, number: u32, size: u64) -> Result<()> {
        let mut inode = self.writable_file(number)?;
        if size > self.sb.max_file_size() {
            return Err(Error::TooLarge);
        }
        let block_size = u64::from(self.sb.block_size);
        let old = inode.size();
        // Bytes past the smaller end in its last block must read as zeros.
        let edge = size.min(old);
        if edge % block_size != 0
            && let Some(block) = self.map(&inode, edge / block_size)?
        {
            self.cache.modify(block, CacheKind::Data)?[(edge % block_size) as usize..].fill(0);
        }
        if size < old {
            self.free_from(&mut inode, size.div_ceil(block_size))?;
        }
        self.set_size(&mut inode, size)?;
        inode.touch(self.now());
        self.write_inode(number, &inode)?;
        self.settle()
    }
}
