//! The files `cargo xtask new-guest` writes: the manifest (this checkout's
//! `shared-abi` by absolute path, `bootloader_api` at the workspace's
//! version, a `[workspace]` of its own), the cargo config for the bare-metal
//! target and a minimal `src/main.rs` on the guest runtime (`NAME` stands
//! for the crate's name).

use std::path::Path;

/// The workspace's requirement for `bootloader_api` (`"0.11"`, or a table),
/// as written in its `[workspace.dependencies]`.
fn bootloader_api_requirement(workspace_manifest: &str) -> Option<&str> {
    workspace_manifest
        .lines()
        .filter_map(|line| line.trim().strip_prefix("bootloader_api"))
        .find_map(|rest| rest.trim_start().strip_prefix('='))
        .map(str::trim)
}

/// A TOML basic string holding `text`.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

pub fn manifest(name: &str, root: &Path) -> Result<String, String> {
    let workspace = read(&root.join("Cargo.toml"))?;
    let bootloader_api = bootloader_api_requirement(&workspace)
        .ok_or("the workspace's Cargo.toml names no bootloader_api version")?;
    let shared_abi = root.join("shared-abi");
    let shared_abi = shared_abi
        .to_str()
        .ok_or_else(|| format!("{} is not valid UTF-8", shared_abi.display()))?;
    Ok(format!(
        "[package]
name = \"{name}\"
version = \"0.1.0\"
edition = \"2024\"
publish = false

[dependencies]
# The hypercall ABI and the guest runtime, from the hypervisor's checkout.
shared-abi = {{ path = {}, features = [\"guest\"] }}
# The boot protocol: the hypervisor is this kernel's bootloader.
bootloader_api = {bootloader_api}

# A workspace of its own, so that a workspace above this directory does not
# claim this crate.
[workspace]
",
        toml_string(shared_abi)
    ))
}

pub const CARGO_CONFIG: &str = "\
# Guests are bare-metal kernels linked at fixed addresses, not PIE.
[build]
target = \"x86_64-unknown-none\"

[target.x86_64-unknown-none]
rustflags = [\"-C\", \"relocation-model=static\"]
";

pub const MAIN_RS: &str = r#"//! NAME: a guest kernel for the microhypervisor, on the runtime of
//! `shared_abi::guest` (see its documentation: `cargo doc --open`).
#![no_std]
#![no_main]

use shared_abi::guest::{self as hv, BootInfo};
use shared_abi::{entry_point, println};

entry_point!(main);

fn main(boot_info: &'static mut BootInfo) -> ! {
    // Memory, virtual interrupts and the split console; first, always.
    hv::init(boot_info).expect("runtime");
    let info = hv::start_info().expect("start_info");
    println!("NAME: hello from domain {} '{}'", info.domain_id, info.name());
    hv::exit(0)
}
"#;

/// The text of the file at `path`, or one line saying why it cannot be read.
pub fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::workspace_root;

    #[test]
    fn reads_the_workspace_requirement() {
        let manifest = "[workspace.dependencies]\nbootloader_api = \"0.11\"\nspin = \"0.12\"\n";
        assert_eq!(bootloader_api_requirement(manifest), Some("\"0.11\""));
        let real = read(&workspace_root().join("Cargo.toml")).unwrap();
        assert!(bootloader_api_requirement(&real).is_some());
    }
}
