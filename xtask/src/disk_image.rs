//! Disk images for QEMU: zeroed raw images for block tests, and the guests'
//! filesystem images, made with `mke2fs -d` (a standard filesystem made by
//! a tool this project did not write), one region per domain.
//!
//! The hypervisor gives each domain a region of the disk (its `dom_disk`
//! option, 4 MiB by default), so an image for N domains is N regions, each
//! a filesystem of its own: the plain tree of `guest-kernel/disk/` with the
//! user programs in `/bin`, or the
//! larger test tree (that tree plus a file of more than 8 MiB, a 300 KiB
//! file and symbolic links), made as ext2 or ext4, optionally damaged.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::disk_damage::{self, Damage};
use crate::elf_corrupt::Corruption;
use crate::paths::{self, disks, e2fsprogs};
use crate::user_programs;

/// Bytes of each domain's region (the hypervisor's default `dom_disk`).
pub const REGION_BYTES: u64 = 4 << 20;
/// Bytes of each region of the test-tree images (`dom_disk=16M`).
pub const LARGE_REGION_BYTES: u64 = 16 << 20;
/// Size of the test tree's large file: more than 8 MiB, not a whole
/// number of blocks.
pub const BIG_FILE_BYTES: usize = (8 << 20) + 12_345;
/// Size of the test tree's medium file (reaches double-indirect blocks).
const MEDIUM_FILE_BYTES: usize = 300 * 1024 + 7;

/// What one domain's region holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    /// `guest-kernel/disk/` and the user programs as ext2, in a 4 MiB region.
    Plain,
    /// The test tree as ext2.
    Tree,
    /// The test tree as ext4 (`mke2fs -t ext4`).
    Ext4,
    /// The test tree as ext2 with one targeted corruption.
    Damaged(Damage),
    /// The test tree as ext2, damaged at random from this seed.
    Random(u64),
    /// The test tree as ext4, damaged at random from this seed.
    RandomExt4(u64),
}

impl Region {
    fn bytes(self) -> u64 {
        match self {
            Region::Plain => REGION_BYTES,
            _ => LARGE_REGION_BYTES,
        }
    }
}

/// The test tree's directory (made by [`test_tree`]).
pub fn test_tree_dir() -> PathBuf {
    disks().join("tree")
}

/// Deterministic content of `len` bytes.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = disk_damage::Rng::new(seed);
    (0..len).map(|_| rng.next() as u8).collect()
}

/// A zeroed raw image of `mib` MiB at `path`.
pub fn zeroed(path: &Path, mib: u64) -> Result<(), String> {
    let create = || -> std::io::Result<()> {
        fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
        fs::File::create(path)?.set_len(mib << 20)
    };
    create().map_err(|error| format!("cannot create {}: {error}", path.display()))
}

/// Writes the test tree: `guest-kernel/disk/`, `big.bin`, `medium.bin`
/// and `links/` (inline and block-stored, relative and absolute links, a
/// link to a directory, and a loop).
fn test_tree() -> Result<PathBuf, String> {
    let root = test_tree_dir();
    let io = |error: std::io::Error| format!("cannot write {}: {error}", root.display());
    copy_disk_tree(&root)?;
    fs::write(root.join("big.bin"), pattern(BIG_FILE_BYTES, 8)).map_err(io)?;
    fs::write(root.join("medium.bin"), pattern(MEDIUM_FILE_BYTES, 3)).map_err(io)?;
    let links = root.join("links");
    fs::create_dir_all(&links).map_err(io)?;
    let long = format!("/docs/{}numbers.txt", "./".repeat(40));
    for (name, target) in [
        ("relative", "../hello.txt"),
        ("absolute", "/docs/about.txt"),
        ("long", long.as_str()),
        ("docs", "../docs"),
        ("chain", "relative"),
        ("loop-a", "loop-b"),
        ("loop-b", "loop-a"),
    ] {
        symlink(target, links.join(name)).map_err(io)?;
    }
    Ok(root)
}

/// The guests' plain tree: `guest-kernel/disk/` with the programs in
/// `/bin` (and `/bin/on-stack`, a hostile one), staged under the disk
/// directory; returns its root.
pub fn plain_tree() -> Result<PathBuf, String> {
    let root = paths::disks().join("plain");
    let io = |error: std::io::Error| format!("cannot stage {}: {error}", root.display());
    copy_disk_tree(&root)?;
    let bin = root.join("bin");
    fs::create_dir_all(&bin).map_err(io)?;
    for name in user_programs::PROGRAMS {
        let built = user_programs::program(name);
        if !built.is_file() {
            return Err(format!(
                "user program {} is missing (run `cargo xtask build`)",
                built.display()
            ));
        }
        fs::copy(&built, bin.join(name)).map_err(io)?;
    }
    // A hostile program: `hello` with a segment placed on the stack.
    let hello = fs::read(user_programs::program("hello")).map_err(io)?;
    let on_stack = crate::elf_corrupt::corrupt(&hello, Corruption::SegmentOnStack);
    fs::write(bin.join("on-stack"), on_stack).map_err(io)?;
    Ok(root)
}

/// Replaces `root` with a copy of `guest-kernel/disk/`.
pub fn copy_disk_tree(root: &Path) -> Result<(), String> {
    let _ = fs::remove_dir_all(root);
    let source = crate::paths::workspace_root()
        .join("guest-kernel")
        .join("disk");
    let copied = Command::new("cp")
        .arg("-r")
        .arg(&source)
        .arg(root)
        .status()
        .map_err(|error| format!("cp: {error}"))?;
    match copied.success() {
        true => Ok(()),
        false => Err(format!("cannot copy {}", source.display())),
    }
}

/// Runs `mke2fs` on `source`, making a `bytes`-byte filesystem of `kind`
/// with the `extra` options.
fn make_filesystem(
    source: &Path,
    kind: &str,
    bytes: u64,
    extra: &[&str],
) -> Result<Vec<u8>, String> {
    let one = disks().join(format!("region-{kind}.img"));
    let _ = fs::remove_file(&one);
    // An existing file of the right size: mke2fs then says nothing.
    zeroed(&one, bytes >> 20)?;
    let output = Command::new(e2fsprogs("mke2fs"))
        .args(["-q", "-t", kind, "-b", "1024"])
        .args(extra)
        .arg("-d")
        .arg(source)
        .arg("-F")
        .arg(&one)
        .output()
        .map_err(|_| {
            "mke2fs not found: install it with `sudo apt-get install e2fsprogs` (Debian/Ubuntu)"
                .to_string()
        })?;
    if !output.status.success() {
        return Err(format!(
            "mke2fs failed ({}) building {}: {}",
            output.status,
            one.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    fs::read(&one).map_err(|error| format!("cannot read {}: {error}", one.display()))
}

/// An image at `path` holding the guests' ext2 filesystem once per domain.
pub fn ext2(path: &Path, domains: usize) -> Result<(), String> {
    regions(path, &vec![Region::Plain; domains]).map(|_| ())
}

/// An image at `path` with one region per entry of `regions`; returns, for
/// each region damaged at random, the region and the files whose content
/// the damage may have changed undetectably.
pub fn regions(
    path: &Path,
    regions: &[Region],
) -> Result<Vec<(Region, Vec<&'static str>)>, String> {
    if regions.iter().any(|r| r.bytes() != regions[0].bytes()) {
        return Err("every region of a disk image must have the same size".into());
    }
    fs::create_dir_all(disks())
        .map_err(|error| format!("cannot create {}: {error}", disks().display()))?;
    let plain = match regions.contains(&Region::Plain) {
        true => Some(plain_tree()?),
        false => None,
    };
    let tree = match regions.iter().any(|r| *r != Region::Plain) {
        true => Some(test_tree()?),
        false => None,
    };
    let mut made: Vec<(&str, bool, Vec<u8>)> = Vec::new();
    let mut image = Vec::new();
    let mut random = Vec::new();
    for region in regions {
        // Both were made above for the regions that need them.
        let source = match region {
            Region::Plain => plain.as_deref(),
            _ => tree.as_deref(),
        }
        .ok_or("a disk tree is missing")?;
        let kind = match region {
            Region::Ext4 | Region::RandomExt4(_) => "ext4",
            _ => "ext2",
        };
        let is_plain = *region == Region::Plain;
        let mut bytes = match made.iter().find(|(k, p, _)| *k == kind && *p == is_plain) {
            Some((_, _, bytes)) => bytes.clone(),
            None => {
                // The damaged images' expected errors name inode-table
                // sizes: pin what e2fsprogs versions might choose.
                let extra: &[&str] = match (is_plain, kind) {
                    (false, "ext2") => &["-I", "128", "-N", "8192"],
                    (false, _) => &["-I", "256"],
                    _ => &[],
                };
                let bytes = make_filesystem(source, kind, region.bytes(), extra)?;
                made.push((kind, is_plain, bytes.clone()));
                bytes
            }
        };
        match region {
            Region::Damaged(damage) => disk_damage::apply(&mut bytes, *damage)?,
            Region::Random(seed) => random.push((*region, disk_damage::random(&mut bytes, *seed)?)),
            Region::RandomExt4(seed) => {
                random.push((*region, disk_damage::random_ext4(&mut bytes, *seed)?))
            }
            _ => {}
        }
        image.extend_from_slice(&bytes);
    }
    fs::write(path, image).map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    Ok(random)
}
