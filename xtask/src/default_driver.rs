//! The driver domain `cargo xtask` adds to a bundle whenever a disk is
//! attached and no guest is a driver domain already: the disk is the
//! driver domain's to drive (the hypervisor has no block backend), so
//! without one no guest could reach it.
//!
//! It is the `driver` guest binary serving the block backend
//! (`serve=block`), added as the *last* domain so that the other domains
//! keep their identifiers and their default disk regions (the `dom_disk`
//! layout counts domains from 1). The hypervisor ends it once no other
//! domain is left to serve. `--no-driver` (run, gdb, trace, test --guest)
//! and `Scenario::no_driver` leave it out.

use shared_abi::bundle::EntryExtras;

use crate::artifacts::Artifacts;
use crate::bundle::GuestSpec;

/// The guest binary the driver domain boots.
pub const BINARY: &str = "driver";
/// Its arguments: serve the block backend (no measuring, no pattern).
pub const ARGS: &str = "serve=block";

/// Whether a bundle of `specs` with a disk attached (`disk`) needs the
/// default driver domain.
pub fn needed(disk: bool, specs: &[GuestSpec]) -> bool {
    disk && !specs.iter().any(|spec| spec.extras.driver)
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

/// The driver domain's bundle entry, named so as not to clash with `specs`.
pub fn spec(artifacts: &Artifacts, specs: &[GuestSpec]) -> Result<GuestSpec, String> {
    Ok(GuestSpec {
        name: name(specs),
        args: ARGS.into(),
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
    if !needed(disk, specs) {
        return Ok(false);
    }
    let driver = spec(artifacts, specs)?;
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
    fn needed_only_with_a_disk_and_no_driver_domain() {
        let guests = [spec("alpha", false), spec("beta", false)];
        assert!(needed(true, &guests));
        assert!(!needed(false, &guests));
        let with_driver = [spec("alpha", false), spec("mine", true)];
        assert!(!needed(true, &with_driver));
    }

    #[test]
    fn the_name_does_not_clash() {
        assert_eq!(name(&[spec("alpha", false)]), "driver");
        let taken = [spec("driver", false), spec("driver-2", false)];
        assert_eq!(name(&taken), "driver-3");
    }
}
