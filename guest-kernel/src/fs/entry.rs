//! What the filesystem tells about a file, whichever backend serves the
//! volume: its id, its metadata, and its entry in a directory listing.

use alloc::string::String;

use ext2::Kind;

/// A file of a mounted volume: its inode number (on a read-only volume, a
/// handle that volume gave out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// What a file is and how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    pub size: u64,
    pub kind: Kind,
}

/// An entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub name: String,
    pub directory: bool,
}
