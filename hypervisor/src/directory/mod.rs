//! The backend directory: which domain serves each device class
//! ([`Kind`]) and the connections frontends asked for that its backend has
//! not taken yet. [`table`] is the pure table (unit-tested on the host);
//! the calls are in `hypercall/directory.rs`. When a backend's domain ends
//! (`dispatch::end_domain`), [`ended`] drops its entries and the
//! connections queued for it and tells every other live domain. Once only
//! backends are left ([`only_backends_left`]) the dispatcher ends them.

pub mod table;

#[cfg(target_os = "none")]
pub use self::live::{DIRECTORY, announce, block_served, ended, only_backends_left};

#[cfg(target_os = "none")]
mod live {
    use shared_abi::backend::Kind;
    use shared_abi::event::Virq;
    use spin::Mutex;

    use super::table::Directory;
    use crate::domain::table::DomainTable;

    /// The directory (taken under the domain table's lock).
    pub static DIRECTORY: Mutex<Directory> = Mutex::new(Directory::new());

    /// Raises `Virq::Backend` in every live domain but `except`.
    pub fn announce(table: &mut DomainTable, except: u32) {
        for domain in table.live_mut().filter(|d| d.id() != except) {
            domain.raise_virq(Virq::Backend);
        }
    }

    /// Whether every live domain is a backend (and one is): nobody is left
    /// who could connect to them, as domains are made only at boot.
    pub fn only_backends_left(table: &DomainTable) -> bool {
        let directory = DIRECTORY.lock();
        let mut live = table.iter().filter(|d| d.is_alive()).peekable();
        live.peek().is_some() && live.all(|d| directory.serves(d.id()))
    }

    /// Whether a live domain serves the block device.
    pub fn block_served() -> bool {
        DIRECTORY.lock().backend(Kind::Block).is_some()
    }

    /// Domain `id` ends: its directory entries and the connections queued
    /// for it go, and so do the connections it asked for; if it was a
    /// backend, every other live domain hears of it.
    pub fn ended(table: &mut DomainTable, id: u32) {
        if DIRECTORY.lock().ended(id) {
            log::info!("directory: domain {id} no longer serves as a backend");
            announce(table, id);
        }
    }
}
