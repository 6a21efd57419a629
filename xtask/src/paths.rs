//! Where things are: the workspace, cargo's target directory, the
//! directory disk images are written to, the target the guests are built
//! for, and e2fsprogs' tools.

use std::path::{Path, PathBuf};

/// The Rust target the hypervisor and its guests are built for.
pub const TARGET: &str = "x86_64-unknown-none";

/// The workspace root (the directory above this crate).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// Where disk images are written.
pub fn disks() -> PathBuf {
    target_dir().join("disks")
}

/// Where e2fsprogs' `tool` (`mke2fs`, `e2fsck`, `debugfs`) is installed
/// (the sbin directories are not on every user's PATH), or just its name.
pub fn e2fsprogs(tool: &str) -> String {
    ["/usr/sbin", "/sbin"]
        .iter()
        .map(|dir| format!("{dir}/{tool}"))
        .find(|candidate| Path::new(candidate).is_file())
        .unwrap_or_else(|| tool.to_string())
}
