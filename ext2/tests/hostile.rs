//! Hostile and foreign images: filesystems with features this crate does
//! not write refuse every change with one line naming them, targeted
//! damage is reported as corrupt, and random damage never panics (any
//! operation may fail, none may crash).

mod common;

use common::{ext2, make, pattern};
use ext2::{Error, Ext2, MemoryDevice};

#[test]
fn an_ext4_image_mounts_read_only_and_names_its_features() {
    let Some(image) = make("ext4", 4096, 8, &[]) else {
        return;
    };
    let mut fs = Ext2::mount(MemoryDevice::new(image)).unwrap();
    let features = fs.read_only().expect("ext4 is not writable").to_string();
    assert!(
        features.contains("has_journal") && features.contains("extent"),
        "{features}"
    );
    let error = fs.create("/x").unwrap_err();
    assert_eq!(error, Error::ReadOnly(features));
    assert!(error.to_string().starts_with(
        "read-only: the filesystem has features this kernel does not write (has_journal"
    ));
    assert!(matches!(fs.mkdir("/d"), Err(Error::ReadOnly(_))));
    assert!(matches!(fs.unlink("/lost+found"), Err(Error::ReadOnly(_))));
}

#[test]
fn the_checker_sees_a_wrong_free_count() {
    // e2fsck forgives the superblock's counts (they are recomputed at
    // mount), not a group's.
    let Some(mut fs) = ext2(1024, 4) else { return };
    fs.sync().unwrap();
    let mut bytes = fs.into_device().bytes;
    common::assert_clean(&bytes);
    bytes[2 * 1024 + 0xc] ^= 1;
    let caught = std::panic::catch_unwind(|| common::assert_clean(&bytes));
    assert!(caught.is_err(), "e2fsck missed a wrong free block count");
}

/// A directory entry's record length and a file's block pointer damaged.
#[test]
fn targeted_damage_is_reported_as_corrupt() {
    let Some(mut fs) = ext2(1024, 4) else { return };
    let file = fs.create("/victim").unwrap();
    fs.write_at(file, 0, &pattern(5000, 1)).unwrap();
    fs.sync().unwrap();
    let mut bytes = fs.into_device().bytes;
    // Find the root directory's first block through its inode.
    let clean = bytes.clone();
    let mut fs = Ext2::mount(MemoryDevice::new(clean)).unwrap();
    let root = fs.read_inode(2).unwrap();
    let root_block = root.block(0) as usize;
    let victim = fs.read_inode(file).unwrap();
    let data_block = victim.block(0) as usize;
    // The first entry's record length becomes 5.
    bytes[root_block * 1024 + 4] = 5;
    let mut damaged = Ext2::mount(MemoryDevice::new(bytes.clone())).unwrap();
    let error = damaged.list("/").unwrap_err();
    assert!(error.to_string().contains("record length 5"), "{error}");
    assert!(matches!(damaged.create("/new"), Err(Error::Corrupt(_))));
    // A block pointer beyond the filesystem.
    let mut fs = Ext2::mount(MemoryDevice::new(fs.into_device().bytes)).unwrap();
    let mut inode = fs.read_inode(file).unwrap();
    assert_eq!(inode.block(0) as usize, data_block);
    inode.set_block(0, 0x00ff_ffff);
    let mut bytes = fs.into_device().bytes;
    let table = {
        let descriptor = 2 * 1024;
        u32::from_le_bytes(bytes[descriptor + 8..descriptor + 12].try_into().unwrap()) as usize
    };
    let inode_size = u16::from_le_bytes([bytes[1024 + 0x58], bytes[1024 + 0x59]]) as usize;
    let at = table * 1024 + (file as usize - 1) * inode_size;
    bytes[at..at + inode_size].copy_from_slice(inode.bytes());
    let mut damaged = Ext2::mount(MemoryDevice::new(bytes)).unwrap();
    let mut buffer = [0u8; 100];
    let error = damaged.read_at(file, 0, &mut buffer).unwrap_err();
    assert!(error.to_string().contains("block 16777215"), "{error}");
    assert!(matches!(damaged.truncate(file, 0), Err(Error::Corrupt(_))));
    assert!(matches!(
        damaged.write_at(file, 0, b"x"),
        Err(Error::Corrupt(_))
    ));
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Random bytes of the metadata area flipped, then a mix of reads and
/// writes: errors are fine, panics are not.
#[test]
fn random_damage_never_panics() {
    let Some(mut fs) = ext2(1024, 2) else { return };
    fs.mkdir("/d").unwrap();
    for index in 0..6 {
        let file = fs.create(&format!("/d/f{index}")).unwrap();
        fs.write_at(file, 0, &pattern(4000 * index * index, index as u64))
            .unwrap();
    }
    fs.sync().unwrap();
    let pristine = fs.into_device().bytes;
    for seed in 1..=200u64 {
        let mut state = seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
        let mut bytes = pristine.clone();
        for _ in 0..1 + seed % 20 {
            // Most hits in the first 300 KiB: superblock, descriptors,
            // bitmaps, inode table, directories and the first files.
            let span = if xorshift(&mut state).is_multiple_of(4) {
                bytes.len()
            } else {
                300 * 1024
            };
            let at = (xorshift(&mut state) % span as u64) as usize;
            bytes[at] ^= 1 << (xorshift(&mut state) % 8);
        }
        let Ok(mut fs) = Ext2::mount(MemoryDevice::new(bytes)) else {
            continue;
        };
        let _ = fs.list("/d");
        for index in 0..6 {
            let path = format!("/d/f{index}");
            if let Ok(file) = fs.resolve(&path, true) {
                let mut buffer = vec![0u8; 70_000];
                let _ = fs.read_at(file, 0, &mut buffer);
                let _ = fs.write_at(file, 3000, b"written over damage");
                let _ = fs.truncate(file, 100);
            }
            let _ = fs.unlink(&path);
        }
        let _ = fs.mkdir("/d/new");
        let _ = fs
            .create("/d/new/x")
            .map(|file| fs.write_at(file, 0, &[7; 9000]));
        let _ = fs.rmdir("/d/new");
        let _ = fs.sync();
    }
}
