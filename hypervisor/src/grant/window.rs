//! A grantee's window: the grants it has mapped, one per map slot, each
//! slot a page of guest-physical space at
//! [`window_address`](shared_abi::grant::window_address).
//!
//! Pure bookkeeping (the calls in `hypercall/grant.rs` put the frames in
//! the domain's memory and take them out). A grant is mapped at most once
//! per grantee ([`Status::AlreadyBound`]); a mapping takes the lowest free
//! slot; at most [`MAPS_MAX`] at once ([`Status::LimitReached`]).

use shared_abi::Status;
use shared_abi::grant::{GrantRef, MAPS_MAX, window_slot};

/// One mapped grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The domain that granted the page.
    pub granter: u32,
    /// Its reference in the granter's table.
    pub reference: GrantRef,
}

/// The map slots of one domain (the grantee).
#[derive(Clone, Debug, Default)]
pub struct Window {
    slots: [Option<Mapping>; MAPS_MAX as usize],
}

impl Window {
    /// Takes the lowest free slot for `mapping`; returns the slot.
    pub fn insert(&mut self, mapping: Mapping) -> Result<u64, Status> {
        if self.slots.contains(&Some(mapping)) {
            return Err(Status::AlreadyBound);
        }
        let (slot, free) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, slot)| slot.is_none())
            .ok_or(Status::LimitReached)?;
        *free = Some(mapping);
        Ok(slot as u64)
    }

    /// The mapping at window address `gpa`, if one is there.
    pub fn at(&self, gpa: u64) -> Option<(u64, Mapping)> {
        let slot = window_slot(gpa)?;
        self.slots[slot as usize].map(|mapping| (slot, mapping))
    }

    /// The mapping in `slot`, if any.
    pub fn get(&self, slot: u64) -> Option<Mapping> {
        *self.slots.get(usize::try_from(slot).ok()?)?
    }

    /// Frees `slot`; returns what it held.
    pub fn remove(&mut self, slot: u64) -> Option<Mapping> {
        self.slots.get_mut(usize::try_from(slot).ok()?)?.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_abi::grant::window_address;

    fn mapping(granter: u32, n: u64) -> Mapping {
        Mapping {
            granter,
            reference: GrantRef::first(n),
        }
    }

    #[test]
    fn mappings_take_the_lowest_free_slot_once_each() {
        let mut window = Window::default();
        assert_eq!(window.insert(mapping(1, 0)), Ok(0));
        assert_eq!(window.insert(mapping(1, 1)), Ok(1));
        assert_eq!(window.insert(mapping(2, 0)), Ok(2));
        assert_eq!(window.insert(mapping(1, 0)), Err(Status::AlreadyBound));
        assert_eq!(window.at(window_address(1)), Some((1, mapping(1, 1))));
        assert_eq!(window.get(2), Some(mapping(2, 0)));
        assert_eq!(window.get(MAPS_MAX), None);
        assert_eq!(window.remove(1), Some(mapping(1, 1)));
        assert_eq!(window.at(window_address(1)), None);
        assert_eq!(window.remove(1), None);
        assert_eq!(window.insert(mapping(3, 5)), Ok(1));
    }

    #[test]
    fn thirty_two_mappings_at_most() {
        let mut window = Window::default();
        for n in 0..MAPS_MAX {
            assert_eq!(window.insert(mapping(1, n)), Ok(n));
        }
        assert_eq!(window.insert(mapping(1, 40)), Err(Status::LimitReached));
        assert_eq!(window.insert(mapping(1, 0)), Err(Status::AlreadyBound));
    }

    #[test]
    fn addresses_outside_the_window_hold_nothing() {
        let mut window = Window::default();
        window.insert(mapping(1, 0)).unwrap();
        for gpa in [
            0,
            0x1000,
            window_address(0) + 1,
            window_address(MAPS_MAX),
            u64::MAX,
        ] {
            assert_eq!(window.at(gpa), None, "{gpa:#x}");
        }
        assert_eq!(window.remove(MAPS_MAX), None);
        assert_eq!(window.remove(u64::MAX), None);
    }
}
