//! The driver domain `cargo xtask` adds to every bundle in which no guest
//! is a driver domain already: it runs the operator's terminal (the
//! hypervisor feeds it the console) and, when a disk is attached, drives
//! the disk (the hypervisor has no block backend: without it no guest
//! could reach the disk).
//!
//! It is the `driver` guest binary serving the console, and the block
//! backend with a disk (`serve=console+block`), added as the *last* domain
//! so that the other domains keep their identifiers and their default
//! disk regions (the `dom_disk` layout counts domains from 1). The
//! hypervisor ends it once no other domain is left to serve.
//! `--no-driver` (run, gdb, trace, test --guest) and `Scenario::no_driver`
//! leave it out: the hypervisor then runs the terminal itself.

use shared_abi::bundle::{EntryExtras, MAX_ENTRIES};

use crate::artifacts::Artifacts;
use crate::bundle::GuestSpec;

/// The guest binary the driver domain boots.
pub const BINARY: &str = "driver";

/// Its arguments: serve the console, and the disk when one is attached
/// (no measuring, no pattern).
pub fn args(disk: bool) -> &'static str {
    match disk {
        true => "serve=console+block",
        false => "serve=console",
    }
}

/// Whether a bundle of `specs` needs the default driver domain: none of
/// them is a driver domain.
pub fn needed(specs: &[GuestSpec]) -> bool {
    !specs.iter().any(|spec| spec.extras.driver)
}

/// The name of the added domain: `driver`, or `driver-N` with the smallest
/// N that no other domain has.
pub fn name(specs: &[GuestSpec]) -> String {
    let taken = |name: &str| specs.iter().any(|spec| spec.name == name);
    std::iter::once(BINARY.to_string())
        .chain((2..).map(|n| format!("{BINARY}-{n}")))
        .find(|name| !taken(name))
        .expect("an unused name")
}

/// The driver domain's bundle entry, named so as not to clash with
/// `specs`, serving the disk when one is attached (`disk`).
pub fn spec(artifacts: &Artifacts, specs: &[GuestSpec], disk: bool) -> Result<GuestSpec, String> {
    Ok(GuestSpec {
        name: name(specs),
        args: args(disk).into(),
        image: artifacts.read_guest(BINARY)?.into(),
        extras: EntryExtras {
            driver: true,
            no_disk: true,
            ..EntryExtras::default()
        },
    })
}

/// Appends the driver domain to `specs` when [`needed`]; returns whether
/// it did.
pub fn append(
    artifacts: &Artifacts,
    disk: bool,
    specs: &mut Vec<GuestSpec>,
) -> Result<bool, String> {
    if !needed(specs) {
        return Ok(false);
    }
    if specs.len() >= MAX_ENTRIES as usize {
        return Err(format!(
            "the guests make {} domains, as many as a bundle holds, and leave no room for the driver domain (which runs the console, and the disk): boot fewer, or pass --no-driver",
            specs.len()
        ));
    }
    let driver = spec(artifacts, specs, disk)?;
    specs.push(driver);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, driver: bool) -> GuestSpec {
        GuestSpec {
            name: name.into(),
            extras: EntryExtras {
                driver,
                ..EntryExtras::default()
            },
            ..GuestSpec::default()
        }
    }

    #[test]
    fn needed_unless_a_guest_is_a_driver_domain() {
        let guests = [spec("alpha", false), spec("beta", false)];
        assert!(needed(&guests));
        let with_driver = [spec("alpha", false), spec("mine", true)];
        assert!(!needed(&with_driver));
        assert_eq!(args(true), "serve=console+block");
        assert_eq!(args(false), "serve=console");
    }

    #[test]
    fn the_name_does_not_clash() {
        assert_eq!(name(&[spec("alpha", false)]), "driver");
        let taken = [spec("driver", false), spec("driver-2", false)];
        assert_eq!(name(&taken), "driver-3");
    }
}
