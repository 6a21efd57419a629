//! A domain's side of the console, kept in its record: where its split
//! console rings are, once it connected them to the console server, so
//! that what is left in them when the domain stops or ends can be passed
//! on (`console::flush`, `console::drain`).

use crate::mm::address::MachineAddr;

/// A domain's side of the console.
#[derive(Debug, Default)]
pub struct DomainConsole {
    ring: Option<MachineAddr>,
}

impl DomainConsole {
    /// The page of the split console rings, once connected.
    pub fn ring(&self) -> Option<MachineAddr> {
        self.ring
    }

    /// The rings are in `page` (a frame of the domain's own memory) from
    /// now on.
    pub fn connected(&mut self, page: MachineAddr) {
        self.ring = Some(page);
    }
}
