//! A writable ext2 filesystem (revision 1, as `mke2fs -t ext2` makes it)
//! over any [`BlockDevice`]: files written at any offset, appended and
//! truncated both ways through block maps up to triple-indirect blocks;
//! directories made, listed and removed; link counts, bitmaps, free counts
//! (per group and in the superblock) and `i_blocks` kept as `e2fsck`
//! expects them.
//!
//! Every access goes through a write-back [`BlockCache`]: changes stay in
//! memory until [`Ext2::sync`] writes them, file data before metadata, and
//! flushes the device; the cache writes back early, between operations,
//! when it holds too much. Filesystems with features this crate does not
//! write (a journal, extents, 64-bit, checksums, ...) mount read-only and
//! every change is refused with [`Error::ReadOnly`] naming them.
//!
//! The disk is hostile input: every block number, inode number and
//! directory entry is checked before it is used, and damage is reported
//! as [`Error::Corrupt`], never a panic. The crate is `no_std` (with
//! `alloc`): the guest kernel mounts its disk with it, and the host tests
//! run it against images made by `mke2fs` and check them with `e2fsck`.
#![no_std]

extern crate alloc;

mod allocation;
mod block_map;
pub mod cache;
pub mod device;
pub mod directory;
pub mod error;
mod file;
pub mod filesystem;
pub mod inode;
pub mod paths;
pub mod superblock;

pub use cache::BlockCache;
pub use device::{BlockDevice, MemoryDevice};
pub use error::{Error, MAX_SYMLINK_HOPS, Result};
pub use file::MAX_TARGET;
pub use filesystem::Ext2;
pub use inode::Kind;
pub use paths::{Listed, Metadata};
