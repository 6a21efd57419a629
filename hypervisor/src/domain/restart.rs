//! Restarting a domain the hypervisor stopped: what it was built from
//! (its recipe), kept with a domain whose bundle entry asks for restarts,
//! and the rebuild.
//!
//! A domain is restarted only when the hypervisor stopped it (a fault it
//! could not take, an expired watchdog), never after its own `shutdown`,
//! and at most [`MAX_RESTARTS`] times, so a domain that fails at once
//! cannot keep the machine busy restarting it. The new run has the same
//! identifier, name, arguments, memory size, mode and disk region, fresh
//! memory loaded from the image, and learns how many restarts came before
//! it from `StartInfo::restarts`.

use shared_abi::bundle::MAX_RESTARTS;
use shared_abi::emulation::Mode;

use super::create::{CreateError, create};
use super::record::Domain;

/// How to build a domain again.
#[derive(Clone, Copy, Debug)]
pub struct Recipe {
    image: &'static [u8],
    memory_bytes: u64,
    mode: Mode,
    disk: Option<(u64, u64)>,
    /// Restarts before this run.
    restarts: u32,
}

impl Recipe {
    /// The recipe of a domain built from `image` with these settings, on
    /// its first run.
    pub fn new(
        image: &'static [u8],
        memory_bytes: u64,
        mode: Mode,
        disk: Option<(u64, u64)>,
    ) -> Self {
        Self {
            image,
            memory_bytes,
            mode,
            disk,
            restarts: 0,
        }
    }

    /// Restarts before this run.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }
}

/// What became of a stopped domain.
pub enum Restarted {
    /// It is not restartable.
    NotRestartable,
    /// It was restarted [`MAX_RESTARTS`] times already.
    Exhausted,
    /// The rebuild failed (no memory left, say).
    Failed(CreateError),
    /// Its next run, to take its place.
    Again(Domain),
}

/// The next run of `stopped`, an ended domain.
pub fn rebuild(stopped: &Domain) -> Restarted {
    let Some(recipe) = stopped.recipe() else {
        return Restarted::NotRestartable;
    };
    if recipe.restarts >= MAX_RESTARTS {
        return Restarted::Exhausted;
    }
    let next = Recipe {
        restarts: recipe.restarts + 1,
        ..recipe
    };
    match create(
        stopped.id(),
        stopped.name(),
        stopped.args(),
        next.image,
        next.memory_bytes,
    ) {
        Ok(mut domain) => {
            domain.set_mode(next.mode);
            if let Some((first, sectors)) = next.disk {
                domain.disk_mut().first_sector = first;
                domain.disk_mut().sectors = sectors;
            }
            domain.set_recipe(next);
            Restarted::Again(domain)
        }
        Err(error) => Restarted::Failed(error),
    }
}
