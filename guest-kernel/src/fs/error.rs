//! Why a file-system operation failed, as one line of text.

use alloc::string::String;
use core::fmt;

use ext4_view::Ext4Error;

use super::disk::DiskError;

/// A failed mount, lookup or read.
#[derive(Debug)]
pub enum FsError {
    /// The disk could not be read there.
    Disk(DiskError),
    /// Not an ext2/3/4 filesystem.
    NotExt(String),
    /// A filesystem this reader refuses (the reason names the feature).
    Unsupported(String),
    /// The mount checks found a structure that cannot be right.
    Corrupt(String),
    /// A symbolic link target is empty or longer than a path may be.
    BadSymlink(u64),
    /// More symbolic links than [`super::volume::MAX_SYMLINK_HOPS`] in one lookup.
    SymlinkLoop,
    /// What `ext4-view` reported (not found, corrupt structures, ...).
    Filesystem(Ext4Error),
}

impl From<DiskError> for FsError {
    fn from(error: DiskError) -> Self {
        Self::Disk(error)
    }
}

impl From<Ext4Error> for FsError {
    fn from(error: Ext4Error) -> Self {
        Self::Filesystem(error)
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Disk(error) => write!(f, "disk error: {error}"),
            Self::NotExt(why) => write!(f, "not an ext2/3/4 filesystem: {why}"),
            Self::Unsupported(what) => write!(f, "unsupported filesystem: {what}"),
            Self::Corrupt(what) => write!(f, "corrupt filesystem: {what}"),
            Self::BadSymlink(size) => {
                write!(
                    f,
                    "corrupt filesystem: symbolic link target of {size} bytes"
                )
            }
            Self::SymlinkLoop => write!(
                f,
                "too many levels of symbolic links (more than {})",
                super::volume::MAX_SYMLINK_HOPS
            ),
            Self::Filesystem(error) => write!(f, "{error}"),
        }
    }
}
