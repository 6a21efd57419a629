//! Backends and frontends: how a frontend finds the domain that serves a
//! device class, and what the hypervisor hands that backend when a
//! frontend asks to be served.
//!
//! The driver domain offers a [`Kind`] (`backend_offer`); any domain asks
//! who serves it (`backend_domain`); a frontend grants its ring page to
//! that domain, allocates an unbound port for it and asks to be served
//! (`frontend_connect`); the hypervisor queues a [`Connection`] naming the
//! frontend, its grant, its port and (for [`Kind::Block`]) the disk region
//! the hypervisor assigned it, and raises
//! [`Virq::Backend`](crate::event::Virq::Backend) in the backend
//! ([`Virq::Console`](crate::event::Virq::Console) in the console server),
//! which takes the connections of each kind with `backend_accept`. When a
//! backend appears or its domain ends, every other live domain gets
//! `Virq::Backend`.

/// A class of device a backend serves.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The operator's terminal: the backend (the console server) is fed
    /// the early console, the hypervisor's lines and the keys
    /// ([`crate::console_feed`]) and drives COM1; each domain's split
    /// console rings ([`crate::ring::ConsoleRings`]) connect to it.
    Console = 1,
    /// The block device ([`crate::blkif`]).
    Block = 2,
}

/// Number of backend kinds the directory holds (indices `1..=KINDS`).
pub const KINDS: usize = 2;

impl Kind {
    /// Decodes a kind number.
    pub fn from_number(number: u64) -> Option<Kind> {
        [Kind::Console, Kind::Block]
            .into_iter()
            .find(|kind| *kind as u64 == number)
    }
}

/// Connections queued for one backend at most; `frontend_connect` answers
/// `LIMIT_REACHED` beyond.
pub const PENDING_MAX: usize = 16;

/// One frontend's request to be served, as `backend_accept` writes it
/// (all fields OUT; the hypervisor fills them, never the frontend).
///
/// | offset | field |
/// |---|---|
/// | 0 | `kind` |
/// | 4 | `frontend` |
/// | 8 | `reference` |
/// | 12 | `port` |
/// | 16 | `first_sector` |
/// | 24 | `sectors` |
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Connection {
    /// The [`Kind`] asked for.
    pub kind: u32,
    /// The frontend's domain id.
    pub frontend: u32,
    /// The frontend's grant of its ring page to the backend.
    pub reference: u32,
    /// The frontend's port, unbound for the backend domain.
    pub port: u32,
    /// For [`Kind::Block`]: first sector of the frontend's region of the
    /// disk, as the hypervisor assigned it.
    pub first_sector: u64,
    /// For [`Kind::Block`]: sectors in the region.
    pub sectors: u64,
}

const _: () = {
    assert!(core::mem::size_of::<Connection>() == 32);
    assert!(core::mem::offset_of!(Connection, kind) == 0);
    assert!(core::mem::offset_of!(Connection, frontend) == 4);
    assert!(core::mem::offset_of!(Connection, reference) == 8);
    assert!(core::mem::offset_of!(Connection, port) == 12);
    assert!(core::mem::offset_of!(Connection, first_sector) == 16);
    assert!(core::mem::offset_of!(Connection, sectors) == 24);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_decode() {
        assert_eq!(Kind::from_number(1), Some(Kind::Console));
        assert_eq!(Kind::from_number(2), Some(Kind::Block));
        assert_eq!(Kind::from_number(0), None);
        assert_eq!(Kind::from_number(3), None);
        assert_eq!(Kind::from_number(u64::MAX), None);
    }
}
