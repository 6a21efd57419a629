//! The guest kernel's user programs (the `user` crate): building them, and
//! the filesystem tree that puts them into the guests' `/bin`.
//!
//! They are built in release mode into their own target directory
//! (`target/user`), whatever the profile of the rest: their names (`hello`,
//! `cat`, ...) would otherwise collide with the guest binaries'.

use std::path::PathBuf;
use std::process::Command;

use crate::paths::TARGET;

/// Every program, by its name in `/bin`.
pub const PROGRAMS: [&str; 23] = [
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
    "held",
];

/// Where the programs are built.
pub fn target_dir() -> PathBuf {
    crate::paths::target_dir().join("user")
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
