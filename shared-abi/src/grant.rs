//! Grant tables: the constants and the reference format of the grant calls
//! (`grant_access`, `grant_end`, `grant_map`, `grant_unmap`,
//! `grant_copy_from`, `grant_copy_to`).
//!
//! A domain (the granter) lends one page of its own memory to one named
//! domain (the grantee) with `grant_access`, which answers a
//! [`GrantRef`]: the grant's slot in the granter's table (low 8 bits,
//! the lowest free slot) and the slot's generation (the bits above),
//! which starts at 1 and grows by one each time the slot is reused, so
//! that a reference to an ended grant never names a later one. The
//! grantee maps the page into its guest-physical window
//! ([`WINDOW_BASE`], one page per map slot) or copies bytes in or out of
//! it; every use checks the grant. See `docs/abi/hypercalls.md`.

/// `grant_access` flag: the grantee may only read the page.
pub const READ_ONLY: u64 = 1 << 0;
/// `grant_access` flag: the grantee may only copy from and to the page
/// (`grant_map` answers `DENIED`), so the grant is never mapped and
/// `grant_end` always ends it at once: the granter may reuse the page the
/// moment the grant has ended, whatever the grantee does.
pub const COPY_ONLY: u64 = 1 << 1;
/// Every flag `grant_access` knows.
pub const ACCESS_FLAGS: u64 = READ_ONLY | COPY_ONLY;

/// `grant_map` flag: map the page writable (the grant must allow it).
pub const MAP_WRITE: u64 = 1 << 0;
/// Every flag `grant_map` knows.
pub const MAP_FLAGS: u64 = MAP_WRITE;

/// Most grants a domain holds at once (slots 0 to 63).
pub const GRANTS_MAX: u64 = 64;
/// Most grants a domain has mapped at once (window slots 0 to 31).
pub const MAPS_MAX: u64 = 32;
/// Guest-physical address of the grantee's window: map slot `n` is the
/// page at `WINDOW_BASE + n * 4096`, above any domain's memory.
pub const WINDOW_BASE: u64 = 0x80_0000_0000;
/// Bytes of one granted page.
pub const PAGE_SIZE: u64 = 4096;

/// Bits of a reference that hold the slot.
pub const SLOT_BITS: u32 = 8;
/// Generation of a slot's first grant.
pub const FIRST_GENERATION: u64 = 1;
/// Largest generation: a slot whose grant at this generation ends is
/// retired rather than reused, so that every reference fits 32 bits (the
/// result of `grant_access`).
pub const MAX_GENERATION: u64 = (1 << (32 - SLOT_BITS)) - 1;

/// A grant reference: `generation << 8 | slot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GrantRef(u64);

impl GrantRef {
    /// The reference of `slot` at `generation`.
    pub const fn new(slot: u64, generation: u64) -> Self {
        Self(generation << SLOT_BITS | (slot & ((1 << SLOT_BITS) - 1)))
    }

    /// The reference of a granter's `n`th grant (from 0) when it grants
    /// from a fresh table and ends none: slot `n`, first generation.
    pub const fn first(n: u64) -> Self {
        Self::new(n, FIRST_GENERATION)
    }

    /// A reference as a guest passes it (any value; checked when used).
    pub const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// The value passed in a register.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// The slot it names (may be beyond the table for a forged reference).
    pub const fn slot(self) -> u64 {
        self.0 & ((1 << SLOT_BITS) - 1)
    }

    /// The generation it names.
    pub const fn generation(self) -> u64 {
        self.0 >> SLOT_BITS
    }

    /// The `address` argument of `grant_copy_from` / `grant_copy_to`:
    /// this reference and a byte offset in the page. `None` when the
    /// offset is not below a page or the reference does not fit.
    pub const fn copy_address(self, offset: u64) -> Option<u64> {
        if offset >= PAGE_SIZE || self.0 >> (64 - 12) != 0 {
            return None;
        }
        Some(self.0 << 12 | offset)
    }

    /// The reference and offset of a `grant_copy_*` `address`.
    pub const fn from_copy_address(address: u64) -> (Self, u64) {
        (Self(address >> 12), address & (PAGE_SIZE - 1))
    }
}

/// The guest-physical address of map slot `slot` of the window.
pub const fn window_address(slot: u64) -> u64 {
    WINDOW_BASE + slot * PAGE_SIZE
}

/// The map slot at guest-physical `gpa`, if it is the start of one.
pub const fn window_slot(gpa: u64) -> Option<u64> {
    if gpa < WINDOW_BASE || !gpa.is_multiple_of(PAGE_SIZE) {
        return None;
    }
    let slot = (gpa - WINDOW_BASE) / PAGE_SIZE;
    if slot < MAPS_MAX { Some(slot) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_pack_slot_and_generation() {
        let reference = GrantRef::new(5, 7);
        assert_eq!(reference.raw(), 7 << 8 | 5);
        assert_eq!(reference.slot(), 5);
        assert_eq!(reference.generation(), 7);
        assert_eq!(GrantRef::first(0).raw(), 0x100);
        assert_eq!(GrantRef::first(3).raw(), 0x103);
        assert_eq!(GrantRef::from_raw(u64::MAX).slot(), 255);
    }

    #[test]
    fn copy_addresses_carry_reference_and_offset() {
        let reference = GrantRef::first(2);
        let address = reference.copy_address(0x123).unwrap();
        assert_eq!(address, 0x102 << 12 | 0x123);
        assert_eq!(GrantRef::from_copy_address(address), (reference, 0x123));
        assert_eq!(reference.copy_address(4096), None);
        let last = GrantRef::new(GRANTS_MAX - 1, MAX_GENERATION);
        let address = last.copy_address(4095).unwrap();
        assert_eq!(GrantRef::from_copy_address(address), (last, 4095));
        assert_eq!(GrantRef::from_raw(1 << 52).copy_address(0), None);
        assert!(GrantRef::new(GRANTS_MAX - 1, MAX_GENERATION).raw() <= u32::MAX as u64);
    }

    #[test]
    fn window_slots_are_pages_above_the_base() {
        assert_eq!(window_address(0), WINDOW_BASE);
        assert_eq!(window_slot(WINDOW_BASE), Some(0));
        assert_eq!(
            window_slot(window_address(MAPS_MAX - 1)),
            Some(MAPS_MAX - 1)
        );
        assert_eq!(window_slot(window_address(MAPS_MAX)), None);
        assert_eq!(window_slot(WINDOW_BASE + 8), None);
        assert_eq!(window_slot(WINDOW_BASE - PAGE_SIZE), None);
        assert_eq!(window_slot(!0xfff), None);
    }
}
