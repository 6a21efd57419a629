//! The table of domains and the one that runs now.
//!
//! The hypervisor runs with interrupts masked on one CPU, so the lock is
//! never contended; it exists to make the shared state explicit.

use alloc::vec::Vec;
use spin::Mutex;

use super::record::{Domain, State};
use crate::event::PortTable;
use crate::event::ports::PortTables;

/// All domains ever created, in creation order.
pub struct DomainTable {
    /// The domains (ended ones stay, for the final report).
    pub domains: Vec<Domain>,
    /// Index of the running domain.
    pub current: usize,
    /// Images that were rejected before a domain existed.
    pub rejected: usize,
    /// A domain timer was set or cancelled since the hardware timer was
    /// last armed.
    pub timers_changed: bool,
}

/// The global table.
pub static DOMAINS: Mutex<DomainTable> = Mutex::new(DomainTable {
    domains: Vec::new(),
    current: 0,
    rejected: 0,
    timers_changed: false,
});

impl DomainTable {
    /// Index of the next runnable domain after the current one.
    pub fn next_runnable(&self) -> Option<usize> {
        crate::sched::next_runnable(self.domains.len(), self.current, |index| {
            self.domains[index].is_runnable()
        })
    }

    /// The domain that is running (or ran last): the caller of a hypercall.
    #[inline]
    pub fn caller(&mut self) -> &mut Domain {
        let current = self.current;
        &mut self.domains[current]
    }

    /// The live domain with identifier `id`.
    pub fn domain(&mut self, id: u32) -> Option<&mut Domain> {
        let index = usize::try_from(id).ok()?.checked_sub(1)?;
        self.domains.get_mut(index).filter(|d| d.is_alive())
    }

    /// Whether every domain exited with code 0 and no image was rejected.
    pub fn all_succeeded(&self) -> bool {
        self.rejected == 0 && self.domains.iter().all(|d| d.state() == State::Exited(0))
    }
}

impl PortTables for DomainTable {
    fn table(&mut self, id: u32) -> Option<&mut PortTable> {
        self.domain(id).map(|domain| domain.ports_mut())
    }
}
