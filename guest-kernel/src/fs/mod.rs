//! Filesystems the guest kernel can read from its virtual disk.

pub mod ext2;
