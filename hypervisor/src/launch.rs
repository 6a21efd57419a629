//! Building a domain from its [`Recipe`]: at boot, from a bundle entry,
//! and again when the hypervisor restarts a domain it stopped. A driver
//! domain gets machine-contiguous memory and the assigned device's
//! registers.

use alloc::string::String;

use crate::domain::restart::Recipe;
use crate::domain::{self, Domain, Placement};

/// Creates domain `id` named `name` with `args` from `recipe`; the reason
/// in one line if it cannot be built.
pub fn launch(id: u32, name: &str, args: &str, recipe: Recipe) -> Result<Domain, String> {
    let placement = match recipe.driver() {
        true => Placement::Contiguous,
        false => Placement::Scattered,
    };
    let mut domain = domain::create(
        id,
        name,
        args,
        recipe.image(),
        recipe.memory_bytes(),
        placement,
    )
    .map_err(|error| alloc::format!("{error}"))?;
    domain.set_mode(recipe.mode());
    if recipe.driver() {
        give_device(&mut domain)?;
    }
    if let Some((first, sectors)) = recipe.disk() {
        domain.disk_mut().first_sector = first;
        domain.disk_mut().sectors = sectors;
    }
    domain.set_recipe(recipe);
    Ok(domain)
}

/// Makes `domain` the driver domain: the assigned device's BARs are mapped
/// into it (refused if one overlaps its memory).
fn give_device(domain: &mut Domain) -> Result<(), String> {
    if let Some(device) = crate::devices::assigned::assigned() {
        device.map_bars(domain)?;
    }
    domain.set_driver();
    log::info!(
        "domain {} '{}' is the driver domain",
        domain.id(),
        domain.name()
    );
    Ok(())
}
