//! Helpers of the host tests: images made by `mke2fs`, checked by
//! `e2fsck -fn` and read back by `debugfs` (tools this project did not
//! write), all through temporary files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use ext2::{Ext2, MemoryDevice};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A fresh temporary path ending in `suffix`.
pub fn temp_path(suffix: &str) -> PathBuf {
    let index = NEXT.fetch_add(1, Ordering::SeqCst);
    std::env::temp_dir().join(format!("ext2-test-{}-{index}{suffix}", std::process::id()))
}

fn tool(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.is_file())
}

/// An image of `mib` MiB made by `mke2fs -t kind -b block_size` with
/// `extra` options; `None` (and a note) when mke2fs is not installed.
pub fn make(kind: &str, block_size: u32, mib: u64, extra: &[&str]) -> Option<Vec<u8>> {
    let Some(mke2fs) = tool("mke2fs") else {
        eprintln!("mke2fs not installed: test skipped");
        return None;
    };
    let path = temp_path(".img");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(mib << 20)
        .unwrap();
    let output = Command::new(mke2fs)
        .args(["-q", "-F", "-t", kind, "-b", &block_size.to_string()])
        .args(extra)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "mke2fs: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    Some(bytes)
}

/// A fresh ext2 filesystem mounted on a memory device.
pub fn ext2(block_size: u32, mib: u64) -> Option<Ext2<MemoryDevice>> {
    let bytes = make("ext2", block_size, mib, &[])?;
    Some(Ext2::mount(MemoryDevice::new(bytes)).unwrap())
}

/// Runs `e2fsck -fn` on `bytes`; panics with its report unless clean.
/// Does nothing when e2fsck is not installed.
pub fn assert_clean(bytes: &[u8]) {
    let Some(e2fsck) = tool("e2fsck") else {
        eprintln!("e2fsck not installed: check skipped");
        return;
    };
    let path = temp_path(".img");
    std::fs::write(&path, bytes).unwrap();
    let output = Command::new(e2fsck).arg("-fn").arg(&path).output().unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(
        output.status.success(),
        "e2fsck -fn found problems:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Syncs `fs`, checks its image with e2fsck (and the superblock's free
/// counts against the groups', which e2fsck forgives) and mounts it again.
pub fn sync_check_remount(mut fs: Ext2<MemoryDevice>) -> Ext2<MemoryDevice> {
    fs.sync().unwrap();
    let groups = fs.superblock().groups as usize;
    let (table, _) = ((fs.superblock().first_data_block + 1) as usize, ());
    let block_size = fs.superblock().block_size as usize;
    let device = fs.into_device();
    let bytes = &device.bytes;
    let half = |at: usize| u32::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    let (mut blocks, mut inodes) = (0, 0);
    for group in 0..groups {
        let at = table * block_size + group * 32;
        blocks += half(at + 0xc);
        inodes += half(at + 0xe);
    }
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!((word(1024 + 0xc), word(1024 + 0x10)), (blocks, inodes));
    assert_clean(&device.bytes);
    Ext2::mount(device).unwrap()
}

/// The file at `path` of `bytes` as `debugfs` reads it (`None` without
/// debugfs).
pub fn debugfs_cat(bytes: &[u8], path: &str) -> Option<Vec<u8>> {
    let debugfs = tool("debugfs")?;
    let image = temp_path(".img");
    std::fs::write(&image, bytes).unwrap();
    let output = Command::new(debugfs)
        .arg("-R")
        .arg(format!("cat {path}"))
        .arg(&image)
        .output()
        .unwrap();
    std::fs::remove_file(&image).unwrap();
    Some(output.stdout)
}

/// Deterministic bytes.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// All of regular file `number`, read in pieces of `step` bytes.
pub fn read_all(fs: &mut Ext2<MemoryDevice>, number: u32, step: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = vec![0; step];
    loop {
        let count = fs.read_at(number, out.len() as u64, &mut chunk).unwrap();
        if count == 0 {
            return out;
        }
        out.extend_from_slice(&chunk[..count]);
    }
}

/// Free blocks and inodes as the superblock says.
pub fn free_counts(fs: &Ext2<MemoryDevice>) -> (u32, u32) {
    let bytes = &fs.cache().device().bytes;
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(1024 + 0xc), word(1024 + 0x10))
}

/// Appends to regular file `number` until the disk is full.
pub fn fill_file(fs: &mut Ext2<MemoryDevice>, number: u32) {
    let chunk = pattern(64 * 1024, u64::from(number));
    loop {
        let end = fs.metadata(number).unwrap().size;
        if fs.write_at(number, end, &chunk) != Ok(chunk.len()) {
            return;
        }
    }
}
