//! The user's disk images (`disk=IMAGE`) behind the one virtio-blk disk the
//! hypervisor drives.
//!
//! QEMU gets one physical disk: the images concatenated, each starting on a
//! sector boundary. Each domain's bundle entry names its region (first
//! sector, sectors), so it sees its own image as its whole virtual disk;
//! domains without `disk=` get no disk at all. When QEMU has ended, however
//! it ended (shutdown, failure, `--timeout`, Ctrl-C), [`PhysicalDisk::copy_back`]
//! writes each region back into the user's image, so writes land there.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use shared_abi::bundle::EntryExtras;

/// One user image inside the physical disk.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Region {
    image: PathBuf,
    offset: u64,
    len: u64,
}

/// The physical disk built from the user's images.
#[derive(Debug)]
pub struct PhysicalDisk {
    pub path: PathBuf,
    regions: Vec<Region>,
}

/// Lays out `disks` (one per domain, `None`: no disk), returning each
/// domain's bundle extras and the regions, without touching any file.
fn layout(disks: &[Option<(PathBuf, u64)>]) -> (Vec<EntryExtras>, Vec<Region>) {
    let mut offset = 0;
    let mut regions = Vec::new();
    let extras = disks
        .iter()
        .map(|disk| match disk {
            None => EntryExtras {
                no_disk: true,
                ..EntryExtras::default()
            },
            Some((image, len)) => {
                regions.push(Region {
                    image: image.clone(),
                    offset,
                    len: *len,
                });
                let extras = EntryExtras {
                    disk_first: offset / 512,
                    disk_sectors: len / 512,
                    ..EntryExtras::default()
                };
                offset += len.next_multiple_of(512);
                extras
            }
        })
        .collect();
    (extras, regions)
}

/// Builds the physical disk at `path` from each domain's image (`None`:
/// no disk). Returns the disk (`None` when no domain has one) and each
/// domain's bundle extras.
pub fn build(
    path: &Path,
    disks: &[Option<PathBuf>],
) -> Result<(Option<PhysicalDisk>, Vec<EntryExtras>), String> {
    let mut sized = Vec::new();
    for disk in disks {
        sized.push(match disk {
            None => None,
            Some(image) => {
                let len = fs::metadata(image)
                    .map_err(|error| format!("disk image {}: {error}", image.display()))?
                    .len();
                Some((image.clone(), len))
            }
        });
    }
    let (extras, regions) = layout(&sized);
    if regions.is_empty() {
        return Ok((None, extras));
    }
    let context = |error: std::io::Error| format!("cannot build {}: {error}", path.display());
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(context)?;
    }
    let mut out = File::create(path).map_err(context)?;
    for region in &regions {
        out.seek(SeekFrom::Start(region.offset)).map_err(context)?;
        let mut image = File::open(&region.image)
            .map_err(|error| format!("disk image {}: {error}", region.image.display()))?;
        std::io::copy(&mut image, &mut out).map_err(context)?;
    }
    let disk = PhysicalDisk {
        path: path.to_path_buf(),
        regions,
    };
    Ok((Some(disk), extras))
}

impl PhysicalDisk {
    /// Writes each region back into its user image (in place, so the
    /// image keeps its inode and permissions).
    pub fn copy_back(&self) -> Result<(), String> {
        let mut disk = File::open(&self.path)
            .map_err(|error| format!("cannot read {}: {error}", self.path.display()))?;
        for region in &self.regions {
            let context = |error: std::io::Error| {
                format!("cannot write back {}: {error}", region.image.display())
            };
            let mut bytes = vec![0; region.len as usize];
            disk.seek(SeekFrom::Start(region.offset))
                .and_then(|_| disk.read_exact(&mut bytes))
                .map_err(context)?;
            OpenOptions::new()
                .write(true)
                .open(&region.image)
                .and_then(|mut image| image.write_all(&bytes))
                .map_err(context)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_follow_each_other_on_sector_boundaries() {
        let disks = [
            Some((PathBuf::from("a"), 1024)),
            None,
            Some((PathBuf::from("b"), 4096)),
        ];
        let (extras, regions) = layout(&disks);
        assert_eq!((extras[0].disk_first, extras[0].disk_sectors), (0, 2));
        assert!(extras[1].no_disk);
        assert_eq!((extras[2].disk_first, extras[2].disk_sectors), (2, 8));
        assert_eq!(regions[1].offset, 1024);
    }

    #[test]
    fn writes_land_in_the_user_images() {
        let dir = std::env::temp_dir().join(format!("xtask-disks-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.img"), dir.join("b.img"));
        fs::write(&a, vec![1u8; 1024]).unwrap();
        fs::write(&b, vec![2u8; 512]).unwrap();
        let physical = dir.join("physical.img");
        let (disk, _) = build(&physical, &[Some(a.clone()), None, Some(b.clone())]).unwrap();
        let disk = disk.unwrap();
        let mut bytes = fs::read(&physical).unwrap();
        assert_eq!(bytes.len(), 1536);
        bytes[0] = 9;
        bytes[1024] = 8;
        fs::write(&physical, bytes).unwrap();
        disk.copy_back().unwrap();
        assert_eq!(fs::read(&a).unwrap()[..2], [9, 1]);
        assert_eq!(fs::read(&b).unwrap()[..2], [8, 2]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
