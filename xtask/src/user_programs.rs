//! The guest kernel's user programs (the `user` crate): building them, and
//! the filesystem tree that puts them into the guests' `/bin`.
//!
//! They are built in release mode into their own target directory
//! (`target/user`), whatever the profile of the rest: their names (`hello`,
//! `cat`, ...) would otherwise collide with the guest binaries'.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::artifacts::{self, TARGET};

/// Every program, by its name in `/bin`.
pub const PROGRAMS: [&str; 22] = [
    "hello",
    "echo",
    "cat",
    "ls",
    "exit",
    "spin",
    "share",
    "isolation",
    "peek",
    "poke",
    "jump",
    "privileged",
    "hypercalls",
    "wild",
    "hog",
    "storm",
    "count",
    "syscost",
    "sleep",
    "write",
    "rm",
    "mkdir",
];

/// Where the programs are built.
pub fn target_dir() -> PathBuf {
    artifacts::target_dir().join("user")
}

/// The built program `name`.
pub fn program(name: &str) -> PathBuf {
    target_dir().join(TARGET).join("release").join(name)
}

/// Builds the programs.
pub fn build(command: &mut Command) -> &mut Command {
    command
        .args([
            "build",
            "--release",
            "-p",
            "user",
            "--target",
            TARGET,
            "--bins",
        ])
        .arg("--target-dir")
        .arg(target_dir())
}

/// The guests' plain tree: `guest-kernel/disk/` with the programs in
/// `/bin`, staged under the disk directory; returns its root.
pub fn plain_tree() -> Result<PathBuf, String> {
    let root = crate::disk_image::directory().join("plain");
    let io = |error: std::io::Error| format!("cannot stage {}: {error}", root.display());
    crate::disk_image::copy_disk_tree(&root)?;
    let bin = root.join("bin");
    fs::create_dir_all(&bin).map_err(io)?;
    for name in PROGRAMS {
        let built = program(name);
        if !built.is_file() {
            return Err(format!(
                "user program {} is missing (run `cargo xtask build`)",
                built.display()
            ));
        }
        fs::copy(&built, bin.join(name)).map_err(io)?;
    }
    Ok(root)
}
