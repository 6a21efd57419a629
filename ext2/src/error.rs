//! Why an ext2 operation failed, as one line of text.
//!
//! Every variant prints as one clear line (`Display`); the guest kernel maps
//! them onto its own error type one to one.

use alloc::string::String;
use core::fmt;

/// Symbolic links followed in one lookup at most.
pub const MAX_SYMLINK_HOPS: usize = 8;

/// A failed ext2 operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The block device failed (its own message).
    Device(String),
    /// A structure on the disk that cannot be right (what, and where).
    Corrupt(String),
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
    /// Writes refused: the filesystem has features this code does not
    /// write (their names).
    ReadOnly(String),
    /// An argument that cannot be served (what is wrong with it).
    Invalid(String),
    /// A file would grow past what its block map can address.
    TooLarge,
    /// More than [`MAX_SYMLINK_HOPS`] symbolic links in one lookup.
    SymlinkLoop,
    /// A symbolic link whose target is empty or longer than a path.
    BadSymlink(u64),
}

impl Error {
    /// A [`Error::Corrupt`] with `what`.
    pub fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt(what.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Device(why) => write!(f, "disk error: {why}"),
            Self::Corrupt(what) => write!(f, "corrupt filesystem: {what}"),
            Self::NotFound => write!(f, "file not found"),
            Self::NotDirectory => write!(f, "not a directory"),
            Self::IsDirectory => write!(f, "is a directory"),
            Self::Exists => write!(f, "file exists"),
            Self::NoSpace => write!(f, "no space left on the filesystem"),
            Self::NameTooLong => write!(f, "name too long (more than 255 bytes)"),
            Self::NotEmpty => write!(f, "directory not empty"),
            Self::ReadOnly(features) => write!(
                f,
                "read-only: the filesystem has features this kernel does not write ({features})"
            ),
            Self::Invalid(what) => write!(f, "invalid argument: {what}"),
            Self::TooLarge => write!(f, "file too large for its block map"),
            Self::SymlinkLoop => write!(
                f,
                "too many levels of symbolic links (more than {MAX_SYMLINK_HOPS})"
            ),
            Self::BadSymlink(size) => write!(
                f,
                "corrupt filesystem: symbolic link target of {size} bytes"
            ),
        }
    }
}

impl core::error::Error for Error {}

/// Results of this crate.
pub type Result<T> = core::result::Result<T, Error>;
