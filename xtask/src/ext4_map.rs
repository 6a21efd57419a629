//! Where the structures of an ext4 image made by `mke2fs -t ext4` lie,
//! as `debugfs` reports them: each path's inode and data blocks. The
//! random-damage step aims at them and tells which files' data it hit.
//!
//! With `metadata_csum` (the default of `mke2fs -t ext4`) every structure
//! a reader follows carries a checksum; only file data does not.

use std::ops::Range;
use std::path::Path;
use std::process::Command;

/// One path of the image.
#[derive(Debug)]
pub struct Ext4Entry {
    /// The bytes of its inode.
    pub inode: Range<usize>,
    /// The bytes of its data blocks (a directory's entries).
    pub data: Vec<Range<usize>>,
}

/// Asks `debugfs` about `paths` in the image at `image` (1 KiB blocks,
/// 256-byte inodes).
pub fn entries(image: &Path, paths: &[&str]) -> Result<Vec<Ext4Entry>, String> {
    const BLOCK: usize = 1024;
    const INODE: usize = 256;
    let script: String = paths
        .iter()
        .map(|path| format!("imap {path}\nblocks {path}\n"))
        .collect();
    let script_path = image.with_extension("debugfs");
    std::fs::write(&script_path, script).map_err(|e| format!("debugfs script: {e}"))?;
    let output = Command::new(crate::paths::e2fsprogs("debugfs"))
        .arg("-f")
        .arg(&script_path)
        .arg(image)
        .output()
        .map_err(|_| "debugfs not found: install e2fsprogs".to_string())?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut sections = text.split("debugfs: ").skip(1);
    let mut result = Vec::new();
    for path in paths {
        let located = sections.next().unwrap_or_default();
        let blocks = sections.next().unwrap_or_default();
        let bad = || format!("debugfs did not locate {path}: {located}{blocks}");
        let place = located.split("located at block ").nth(1).ok_or_else(bad)?;
        let (block, offset) = place.split_once(", offset 0x").ok_or_else(bad)?;
        let block: usize = block.trim().parse().map_err(|_| bad())?;
        let offset = usize::from_str_radix(offset.trim(), 16).map_err(|_| bad())?;
        let start = block * BLOCK + offset;
        let data = blocks
            .lines()
            .skip(1)
            .flat_map(str::split_whitespace)
            .map(|word| word.parse::<usize>().map(|b| b * BLOCK..(b + 1) * BLOCK))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad())?;
        result.push(Ext4Entry {
            inode: start..start + INODE,
            data,
        });
    }
    Ok(result)
}
