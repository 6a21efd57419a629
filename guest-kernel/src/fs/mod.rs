//! Filesystems on the guest's virtual disk: ext2 read and written, ext3
//! and ext4 read-only, with the disk treated as hostile input.
//!
//! [`disk`] is the byte-addressed disk over the block frontend (reads,
//! writes, flush), [`layout`] the checks made at mount, [`volume`] the
//! mounted filesystem: the `ext2` crate serves ext2 (files, directories and
//! a write-back block cache that [`Volume::sync`] writes out, file data
//! before metadata, then flushes), [`read_only`] serves ext3/ext4 through
//! `ext4-view`. The shell mounts the disk at start ([`install`]); the rest
//! of the kernel reaches the volume through [`volume`]:
//!
//! ```ignore
//! let mut volume = fs::volume().ok_or(FsError::NotFound)?;
//! let file = volume.create("/notes")?;
//! volume.write_at(file, 0, b"hello")?;
//! volume.sync()?;
//! ```

pub mod disk;
pub mod entry;
pub mod error;
pub mod layout;
pub mod read_only;
pub mod volume;

use spin::{Mutex, MutexGuard, Once};

pub use entry::{Entry, FileId, Metadata};
pub use error::FsError;
pub use ext2::Kind;
pub use volume::Volume;

static VOLUME: Once<Mutex<Volume>> = Once::new();

/// Makes `volume` the mounted one; `false` (and `volume` dropped) if one
/// already is.
pub fn install(volume: Volume) -> bool {
    let mut volume = Some(volume);
    VOLUME.call_once(|| Mutex::new(volume.take().expect("taken once")));
    volume.is_none()
}

/// The mounted volume, locked for the caller; `None` when no filesystem
/// was mounted.
pub fn volume() -> Option<MutexGuard<'static, Volume>> {
    VOLUME.get().map(Mutex::lock)
}
