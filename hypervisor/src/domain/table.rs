//! The table of domains and the one that runs now.
//!
//! The hypervisor runs with interrupts masked on one CPU, so the lock is
//! never contended; it exists to make the shared state explicit.
//!
//! Domains are only added (in creation order, identifier = index + 1) and
//! never removed: an ended one stays for the final report, unless it is
//! restarted, when its next run takes its place (same identifier).

use alloc::vec::Vec;
use spin::Mutex;

use super::record::{Domain, State};
use crate::event::PortTable;
use crate::event::ports::PortTables;
use crate::sched::Turn;

/// All domains ever created, in creation order.
pub struct DomainTable {
    /// The domains (ended ones stay, for the final report).
    domains: Vec<Domain>,
    /// Index of the running domain.
    current: usize,
    /// Images that were rejected before a domain existed.
    rejected: usize,
    /// A domain timer was set or cancelled since the hardware timer was
    /// last armed.
    timers_changed: bool,
    /// TSC when the running domain was last charged for its time.
    charged_at: u64,
}

/// The global table.
pub static DOMAINS: Mutex<DomainTable> = Mutex::new(DomainTable::new());

impl Default for DomainTable {
    fn default() -> Self {
        Self::new()
    }
}

impl DomainTable {
    /// A table with no domain.
    pub const fn new() -> Self {
        DomainTable {
            domains: Vec::new(),
            current: 0,
            rejected: 0,
            timers_changed: false,
            charged_at: 0,
        }
    }

    /// The identifier the next domain added will have.
    pub fn next_id(&self) -> u32 {
        self.domains.len() as u32 + 1
    }

    /// Adds a domain created with [`DomainTable::next_id`].
    pub fn add(&mut self, domain: Domain) {
        debug_assert_eq!(domain.id(), self.next_id());
        self.domains.push(domain);
    }

    /// Puts `next`, the next run of the ended domain at `index` (same
    /// identifier), in its place.
    pub fn replace(&mut self, index: usize, next: Domain) {
        let old = &self.domains[index];
        assert!(!old.is_alive() && old.id() == next.id());
        self.domains[index] = next;
    }

    /// Counts an image rejected before a domain existed.
    pub fn reject(&mut self) {
        self.rejected += 1;
    }

    /// Images rejected before a domain existed.
    pub fn rejected(&self) -> usize {
        self.rejected
    }

    /// How many domains were created.
    pub fn len(&self) -> usize {
        self.domains.len()
    }

    /// Whether no domain was ever created.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// Every domain, ended ones included, in creation order.
    pub fn iter(&self) -> core::slice::Iter<'_, Domain> {
        self.domains.iter()
    }

    /// The domains that have not ended, to change.
    pub fn live_mut(&mut self) -> impl Iterator<Item = &mut Domain> {
        self.domains.iter_mut().filter(|d| d.is_alive())
    }

    /// The domain at `index` (ended or not).
    #[inline]
    pub fn at(&self, index: usize) -> &Domain {
        &self.domains[index]
    }

    /// The domain at `index` (ended or not), to change.
    #[inline]
    pub fn at_mut(&mut self, index: usize) -> &mut Domain {
        &mut self.domains[index]
    }

    /// Index of the running domain (or the one that ran last).
    #[inline]
    pub fn current_index(&self) -> usize {
        self.current
    }

    /// Makes the domain at `index` the running one, charging the one that
    /// ran until now for its time.
    #[inline]
    pub fn switch_to(&mut self, index: usize) {
        let now = crate::time::now();
        let ran = now.saturating_sub(self.charged_at);
        if let Some(previous) = self.domains.get_mut(self.current) {
            previous.counters_mut().ran(ran);
        }
        self.charged_at = now;
        self.current = index;
    }

    /// Notes that a domain timer was set or cancelled.
    #[inline]
    pub fn note_timer_change(&mut self) {
        self.timers_changed = true;
    }

    /// Whether a domain timer changed since the hardware timer was armed.
    #[inline]
    pub fn timers_changed(&self) -> bool {
        self.timers_changed
    }

    /// Forgets timer changes (the hardware timer is about to be re-armed).
    #[inline]
    pub fn clear_timer_changes(&mut self) {
        self.timers_changed = false;
    }

    /// Index of the next runnable domain after the current one, passing
    /// over those that owe at least a `slice` of CPU time (each paying one
    /// back; see [`crate::sched::next_runnable`]).
    pub fn next_runnable(&mut self, slice: u64) -> Option<usize> {
        let domains = &mut self.domains;
        crate::sched::next_runnable(domains.len(), self.current, |index| {
            let domain = &mut domains[index];
            if !domain.is_runnable() {
                Turn::NotRunnable
            } else if domain.sits_out(slice) {
                Turn::SitsOut
            } else {
                Turn::Runs
            }
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
