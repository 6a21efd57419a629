//! What a domain is built from (its recipe, kept with every domain) and
//! whether the hypervisor builds it again after stopping it.
//!
//! A domain is restarted only when the hypervisor stopped it (a fault it
//! could not take, an expired watchdog), never after its own `shutdown`,
//! only when its bundle entry asks for restarts (the driver domain always
//! does), and at most [`MAX_RESTARTS`] times, so a domain that fails at
//! once cannot keep the machine busy restarting it. The new run has the
//! same identifier, name, arguments, memory size, mode, disk region and
//! role, fresh memory loaded from the image, and learns how many restarts
//! came before it from `StartInfo::restarts`. Building is `crate::launch`.

use shared_abi::bundle::MAX_RESTARTS;
use shared_abi::emulation::Mode;

/// How a domain is built.
#[derive(Clone, Copy, Debug)]
pub struct Recipe {
    image: &'static [u8],
    memory_bytes: u64,
    mode: Mode,
    disk: Option<(u64, u64)>,
    driver: bool,
    restartable: bool,
    /// Restarts before this run.
    restarts: u32,
}

impl Recipe {
    /// The recipe of a domain built from `image` with these settings, on
    /// its first run. A driver domain is always restartable.
    pub fn new(
        image: &'static [u8],
        memory_bytes: u64,
        mode: Mode,
        disk: Option<(u64, u64)>,
        driver: bool,
        restart: bool,
    ) -> Self {
        Self {
            image,
            memory_bytes,
            mode,
            disk,
            driver,
            restartable: restart || driver,
            restarts: 0,
        }
    }

    /// The ELF image.
    pub fn image(&self) -> &'static [u8] {
        self.image
    }

    /// Bytes of guest-physical memory.
    pub fn memory_bytes(&self) -> u64 {
        self.memory_bytes
    }

    /// How its privileged instructions are served.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Its disk region `(first sector, sectors)`, if it has one.
    pub fn disk(&self) -> Option<(u64, u64)> {
        self.disk
    }

    /// Whether it is the driver domain.
    pub fn driver(&self) -> bool {
        self.driver
    }

    /// Restarts before this run.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }
}

/// What becomes of a domain the hypervisor stopped.
#[derive(Clone, Copy, Debug)]
pub enum Verdict {
    /// It is not restartable.
    NotRestartable,
    /// It was restarted [`MAX_RESTARTS`] times already.
    Exhausted,
    /// Build it again from this recipe.
    Again(Recipe),
}

/// Whether a domain built from `recipe` (`None`: no recipe), which the
/// hypervisor stopped, runs again.
pub fn verdict(recipe: Option<Recipe>) -> Verdict {
    match recipe {
        Some(recipe) if recipe.restartable && recipe.restarts >= MAX_RESTARTS => Verdict::Exhausted,
        Some(recipe) if recipe.restartable => Verdict::Again(Recipe {
            restarts: recipe.restarts + 1,
            ..recipe
        }),
        _ => Verdict::NotRestartable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe(driver: bool, restart: bool) -> Recipe {
        Recipe::new(b"", 1 << 20, Mode::Paravirtual, None, driver, restart)
    }

    #[test]
    fn only_restartable_domains_run_again_and_at_most_three_times() {
        assert!(matches!(verdict(None), Verdict::NotRestartable));
        assert!(matches!(
            verdict(Some(recipe(false, false))),
            Verdict::NotRestartable
        ));
        let mut run = recipe(false, true);
        for expected in 1..=MAX_RESTARTS {
            match verdict(Some(run)) {
                Verdict::Again(next) => {
                    assert_eq!(next.restarts(), expected);
                    run = next;
                }
                other => panic!("restart {expected}: {other:?}"),
            }
        }
        assert!(matches!(verdict(Some(run)), Verdict::Exhausted));
    }

    #[test]
    fn a_driver_domain_is_always_restartable() {
        assert!(matches!(
            verdict(Some(recipe(true, false))),
            Verdict::Again(_)
        ));
    }
}
