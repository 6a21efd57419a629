//! Why a file-system operation failed, as one line of text.
//!
//! The variants a caller acts on (not found, not a directory, is a
//! directory, exists, no space, name too long, not empty, read-only) are
//! the same whichever code read the disk: the `ext2` crate's errors and
//! `ext4-view`'s are mapped onto them, so a system call can turn each into
//! its error number.

use alloc::string::String;
use core::fmt;

use ext4_view::Ext4Error;

use super::disk::DiskError;

/// A failed mount, lookup, read or change.
#[derive(Debug)]
pub enum FsError {
    /// The disk could not be read there.
    Disk(DiskError),
    /// The disk failed a request of the filesystem's (its message).
    Io(String),
    /// Not an ext2/3/4 filesystem.
    NotExt(String),
    /// A filesystem this reader refuses (the reason names the feature).
    Unsupported(String),
    /// A structure that cannot be right (what, and where).
    Corrupt(String),
    /// A symbolic link target is empty or longer than a path may be.
    BadSymlink(u64),
    /// More symbolic links than [`ext2::MAX_SYMLINK_HOPS`] in one lookup.
    SymlinkLoop,
    /// No file or directory by that name.
    NotFound,
    /// A path component that should be a directory is not.
    NotDirectory,
    /// A directory where a file was wanted.
    IsDirectory,
    /// The name is taken.
    Exists,
    /// No free block or inode is left.
    NoSpace,
    /// A name longer than 255 bytes.
    NameTooLong,
    /// `rmdir` of a directory that still has entries.
    NotEmpty,
    /// Changes refused: the filesystem has features this kernel does not
    /// write (their names).
    ReadOnly(String),
    /// An argument that cannot be served (what is wrong with it).
    Invalid(String),
    /// A file would grow past what its block map can address.
    TooLarge,
    /// `unlink` of a file that is open.
    Busy,
    /// What `ext4-view` reported otherwise (corrupt structures, ...).
    Filesystem(Ext4Error),
}

impl From<DiskError> for FsError {
    fn from(error: DiskError) -> Self {
        Self::Disk(error)
    }
}

impl From<Ext4Error> for FsError {
    fn from(error: Ext4Error) -> Self {
        match error {
            Ext4Error::NotFound => Self::NotFound,
            Ext4Error::NotADirectory => Self::NotDirectory,
            Ext4Error::IsADirectory => Self::IsDirectory,
            Ext4Error::TooManySymlinks => Self::SymlinkLoop,
            other => Self::Filesystem(other),
        }
    }
}

impl From<ext2::Error> for FsError {
    fn from(error: ext2::Error) -> Self {
        use ext2::Error as E;
        match error {
            E::Device(why) => Self::Io(why),
            E::Corrupt(what) => Self::Corrupt(what),
            E::NotFound => Self::NotFound,
            E::NotDirectory => Self::NotDirectory,
            E::IsDirectory => Self::IsDirectory,
            E::Exists => Self::Exists,
            E::NoSpace => Self::NoSpace,
            E::NameTooLong => Self::NameTooLong,
            E::NotEmpty => Self::NotEmpty,
            E::ReadOnly(features) => Self::ReadOnly(features),
            E::Invalid(what) => Self::Invalid(what),
            E::TooLarge => Self::TooLarge,
            E::SymlinkLoop => Self::SymlinkLoop,
            E::BadSymlink(size) => Self::BadSymlink(size),
        }
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ext2::Error as E;
        match self {
            Self::Disk(error) => write!(f, "disk error: {error}"),
            Self::Io(why) => write!(f, "disk error: {why}"),
            Self::NotExt(why) => write!(f, "not an ext2/3/4 filesystem: {why}"),
            Self::Unsupported(what) => write!(f, "unsupported filesystem: {what}"),
            Self::Corrupt(what) => E::Corrupt(what.clone()).fmt(f),
            Self::BadSymlink(size) => E::BadSymlink(*size).fmt(f),
            Self::SymlinkLoop => E::SymlinkLoop.fmt(f),
            Self::NotFound => E::NotFound.fmt(f),
            Self::NotDirectory => E::NotDirectory.fmt(f),
            Self::IsDirectory => E::IsDirectory.fmt(f),
            Self::Exists => E::Exists.fmt(f),
            Self::NoSpace => E::NoSpace.fmt(f),
            Self::NameTooLong => E::NameTooLong.fmt(f),
            Self::NotEmpty => E::NotEmpty.fmt(f),
            Self::ReadOnly(features) => E::ReadOnly(features.clone()).fmt(f),
            Self::Invalid(what) => E::Invalid(what.clone()).fmt(f),
            Self::TooLarge => E::TooLarge.fmt(f),
            Self::Busy => write!(f, "file is open"),
            Self::Filesystem(error) => write!(f, "{error}"),
        }
    }
}
