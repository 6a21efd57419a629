//! Filesystems the guest kernel can read from its virtual disk: ext2, ext3
//! and ext4, read-only, with the disk treated as hostile input.
//!
//! [`disk`] is the byte reader over the block frontend, [`layout`] the
//! checks made at mount, [`volume`] the mounted filesystem the shell uses.

pub mod disk;
pub mod error;
pub mod layout;
pub mod volume;
