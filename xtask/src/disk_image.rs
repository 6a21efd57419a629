//! Disk images for QEMU: zeroed raw images for block tests, and the guests'
//! ext2 image, made with `mke2fs -d` from `guest-kernel/disk/` (a standard
//! filesystem made by a tool this project did not write).
//!
//! The hypervisor gives each domain a 4 MiB region of the disk (its
//! `dom_disk` default), so an image for N domains is N copies of the
//! filesystem, one per region.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::artifacts;

/// Bytes of each domain's region (the hypervisor's default `dom_disk`).
pub const REGION_BYTES: u64 = 4 << 20;

/// Where disk images are written.
pub fn directory() -> PathBuf {
    artifacts::target_dir().join("disks")
}

/// A zeroed raw image of `mib` MiB at `path`.
pub fn zeroed(path: &Path, mib: u64) -> Result<(), String> {
    let create = || -> std::io::Result<()> {
        fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
        fs::File::create(path)?.set_len(mib << 20)
    };
    create().map_err(|error| format!("cannot create {}: {error}", path.display()))
}

/// An image at `path` holding the guests' ext2 filesystem once per domain.
pub fn ext2(path: &Path, domains: usize) -> Result<(), String> {
    let source = artifacts::workspace_root()
        .join("guest-kernel")
        .join("disk");
    let one = directory().join("ext2-region.img");
    fs::create_dir_all(directory())
        .map_err(|error| format!("cannot create {}: {error}", directory().display()))?;
    let _ = fs::remove_file(&one);
    let mke2fs = ["/usr/sbin/mke2fs", "/sbin/mke2fs"]
        .into_iter()
        .find(|candidate| Path::new(candidate).is_file())
        .unwrap_or("mke2fs");
    let status = Command::new(mke2fs)
        .args(["-q", "-t", "ext2", "-b", "1024", "-d"])
        .arg(&source)
        .arg("-F")
        .arg(&one)
        .arg((REGION_BYTES / 1024).to_string())
        .status()
        .map_err(|_| {
            "mke2fs not found: install it with `sudo apt-get install e2fsprogs` (Debian/Ubuntu)"
                .to_string()
        })?;
    if !status.success() {
        return Err(format!(
            "mke2fs failed ({status}) building {}",
            one.display()
        ));
    }
    let region =
        fs::read(&one).map_err(|error| format!("cannot read {}: {error}", one.display()))?;
    let image: Vec<u8> = region
        .iter()
        .copied()
        .cycle()
        .take(region.len() * domains)
        .collect();
    fs::write(path, image).map_err(|error| format!("cannot write {}: {error}", path.display()))
}
