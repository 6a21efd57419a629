//! A domain's grant table: the pages it lends, to whom, how, and how many
//! times each is mapped now.
//!
//! Pure bookkeeping over guest frame numbers and domain ids (the calls in
//! `hypercall/grant.rs` check the frames and the domains). The rules:
//! a grant takes the lowest free slot; the slot's generation starts at
//! [`FIRST_GENERATION`] and grows by one each time the slot is used again,
//! so a reference names a grant only while that grant lives; a slot whose
//! generation reaches [`MAX_GENERATION`] is retired rather than reused;
//! a grant that is mapped cannot end ([`Status::Busy`]).

use shared_abi::Status;
use shared_abi::grant::{FIRST_GENERATION, GRANTS_MAX, GrantRef, MAX_GENERATION};

/// One live grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The domain that may use it.
    grantee: u32,
    /// The granter's guest frame number.
    frame: u64,
    /// What the grantee may do with the page.
    access: Access,
    /// How many mappings of it exist now.
    maps: u32,
}

impl Grant {
    /// The granter's guest frame number.
    pub fn frame(&self) -> u64 {
        self.frame
    }

    /// Whether the grantee may map it (`grant_map`), not only copy.
    pub fn mappable(&self) -> bool {
        self.access.mappable
    }

    /// How many mappings of it exist now.
    #[cfg(test)]
    fn maps(&self) -> u32 {
        self.maps
    }
}

/// What a grant lets its grantee do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// Write the page (else only read it).
    pub writable: bool,
    /// Map it (else only copy from and to it).
    pub mappable: bool,
}

#[cfg(test)]
impl Access {
    /// Read, write and map.
    pub const FULL: Access = Access {
        writable: true,
        mappable: true,
    };
    /// Read and map.
    pub const READ: Access = Access {
        writable: false,
        mappable: true,
    };
}

/// One slot: the generation of its current (or next) grant.
#[derive(Clone, Copy, Debug)]
struct Slot {
    generation: u64,
    grant: Option<Grant>,
}

/// The grants of one domain (the granter).
#[derive(Clone, Debug)]
pub struct GrantTable {
    slots: [Slot; GRANTS_MAX as usize],
}

impl Default for GrantTable {
    fn default() -> Self {
        Self {
            slots: [Slot {
                generation: FIRST_GENERATION,
                grant: None,
            }; GRANTS_MAX as usize],
        }
    }
}

impl GrantTable {
    /// The empty table of the same domain booted again (a restart keeps
    /// its id): every slot goes on from the generation after its last
    /// grant, so no reference of the old run names a grant of the new one.
    pub fn successor(&self) -> Self {
        let mut next = Self::default();
        for (slot, old) in next.slots.iter_mut().zip(&self.slots) {
            slot.generation = old.generation.saturating_add(1);
        }
        next
    }

    /// Grants `frame` to `grantee` in the lowest free slot (writable, and
    /// mappable or for copies only, as `access` says); returns its
    /// reference. `LIMIT_REACHED` when every slot is in use (or retired).
    pub fn grant(&mut self, grantee: u32, frame: u64, access: Access) -> Result<GrantRef, Status> {
        let (index, slot) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, slot)| slot.grant.is_none() && slot.generation <= MAX_GENERATION)
            .ok_or(Status::LimitReached)?;
        slot.grant = Some(Grant {
            grantee,
            frame,
            access,
            maps: 0,
        });
        Ok(GrantRef::new(index as u64, slot.generation))
    }

    /// The slot `reference` names while its grant lives.
    fn live(&self, reference: GrantRef) -> Option<(usize, &Grant)> {
        let index = usize::try_from(reference.slot()).ok()?;
        let slot = self.slots.get(index)?;
        let grant = slot.grant.as_ref()?;
        (slot.generation == reference.generation()).then_some((index, grant))
    }

    /// Ends the grant `reference` names: `INVALID_ARGUMENT` when it names
    /// no live grant, `BUSY` while it is mapped. The slot's next grant gets
    /// the next generation.
    pub fn end(&mut self, reference: GrantRef) -> Result<(), Status> {
        let (index, grant) = self.live(reference).ok_or(Status::InvalidArgument)?;
        if grant.maps != 0 {
            return Err(Status::Busy);
        }
        let slot = &mut self.slots[index];
        slot.grant = None;
        slot.generation += 1;
        Ok(())
    }

    /// The grant `reference` names, if `grantee` may use it (for writing
    /// when `write`); `DENIED` otherwise (stale, forged, someone else's,
    /// or read-only when `write`).
    pub fn check(&self, reference: GrantRef, grantee: u32, write: bool) -> Result<Grant, Status> {
        match self.live(reference) {
            Some((_, grant)) if grant.grantee == grantee && (grant.access.writable || !write) => {
                Ok(*grant)
            }
            _ => Err(Status::Denied),
        }
    }

    /// Counts a new mapping of the live grant `reference` (checked before).
    pub fn add_map(&mut self, reference: GrantRef) {
        if let Some((index, _)) = self.live(reference)
            && let Some(grant) = self.slots[index].grant.as_mut()
        {
            grant.maps += 1;
        }
    }

    /// Counts a mapping of `reference` gone (nothing if it names no live
    /// grant or none is mapped).
    pub fn drop_map(&mut self, reference: GrantRef) {
        if let Some((index, _)) = self.live(reference)
            && let Some(grant) = self.slots[index].grant.as_mut()
        {
            grant.maps = grant.maps.saturating_sub(1);
        }
    }

    /// Ends every grant to `grantee`, which has ended (its mappings are
    /// gone already): a grant never outlives either side, so a domain
    /// later given the same identifier (a restart) cannot use them.
    /// Returns how many ended.
    pub fn end_all_to(&mut self, grantee: u32) -> usize {
        let mut ended = 0;
        for slot in &mut self.slots {
            if slot
                .grant
                .is_some_and(|grant| grant.grantee == grantee && grant.maps == 0)
            {
                slot.grant = None;
                slot.generation += 1;
                ended += 1;
            }
        }
        ended
    }

    /// Whether another domain has one of these grants mapped now.
    pub fn any_mapped(&self) -> bool {
        self.slots
            .iter()
            .any(|slot| slot.grant.is_some_and(|grant| grant.maps != 0))
    }

    /// How many grants are live.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| slot.grant.is_some())
            .count()
    }

    /// Whether no grant is live.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRONT: u32 = 1;
    const BACK: u32 = 2;
    const THIRD: u32 = 3;

    #[test]
    fn grants_take_the_lowest_free_slot_at_the_first_generation() {
        let mut table = GrantTable::default();
        assert_eq!(table.grant(BACK, 10, Access::FULL), Ok(GrantRef::first(0)));
        assert_eq!(table.grant(BACK, 11, Access::READ), Ok(GrantRef::first(1)));
        assert_eq!(table.grant(THIRD, 12, Access::READ), Ok(GrantRef::first(2)));
        assert_eq!(table.end(GrantRef::first(1)), Ok(()));
        assert_eq!(table.grant(BACK, 13, Access::FULL), Ok(GrantRef::new(1, 2)));
        assert_eq!(table.len(), 3);
    }

    #[test]
    fn a_restarted_domain_never_reissues_a_reference() {
        let mut table = GrantTable::default();
        let live = table.grant(BACK, 10, Access::FULL).unwrap();
        let ended = table.grant(BACK, 11, Access::FULL).unwrap();
        assert_eq!(table.end(ended), Ok(()));
        let mut next = table.successor();
        assert_eq!(next.len(), 0);
        assert!(next.check(live, BACK, false).is_err());
        let again = [
            next.grant(BACK, 20, Access::FULL).unwrap(),
            next.grant(BACK, 21, Access::FULL).unwrap(),
        ];
        assert!(!again.contains(&live) && !again.contains(&ended));
        assert!(next.check(live, BACK, false).is_err());
        assert!(next.check(ended, BACK, false).is_err());
        // A slot at the last generation stays retired in the next run.
        table.slots[2].generation = MAX_GENERATION;
        assert!(table.successor().slots[2].generation > MAX_GENERATION);
    }

    #[test]
    fn a_stale_reference_never_names_the_slots_next_grant() {
        let mut table = GrantTable::default();
        let old = table.grant(BACK, 10, Access::FULL).unwrap();
        table.end(old).unwrap();
        let new = table.grant(BACK, 20, Access::FULL).unwrap();
        assert_eq!(new.slot(), old.slot());
        assert_ne!(new, old);
        assert_eq!(table.check(old, BACK, false), Err(Status::Denied));
        assert_eq!(table.end(old), Err(Status::InvalidArgument));
        assert_eq!(table.check(new, BACK, true).map(|g| g.frame()), Ok(20));
    }

    #[test]
    fn grants_to_an_ended_domain_end_with_it() {
        let mut table = GrantTable::default();
        let to_back = table.grant(BACK, 10, Access::FULL).unwrap();
        let to_third = table.grant(THIRD, 11, Access::FULL).unwrap();
        let again = table.grant(BACK, 12, Access::READ).unwrap();
        assert_eq!(table.end_all_to(BACK), 2);
        // A domain that later has BACK's identifier (a restart) gets nothing.
        assert_eq!(table.check(to_back, BACK, false), Err(Status::Denied));
        assert_eq!(table.check(again, BACK, false), Err(Status::Denied));
        assert_eq!(table.end(to_back), Err(Status::InvalidArgument));
        assert_eq!(
            table.check(to_third, THIRD, true).map(|g| g.frame()),
            Ok(11)
        );
        assert_eq!(table.grant(BACK, 13, Access::FULL), Ok(GrantRef::new(0, 2)));
    }

    #[test]
    fn forged_references_are_denied() {
        let mut table = GrantTable::default();
        let reference = table.grant(BACK, 10, Access::FULL).unwrap();
        for forged in [
            GrantRef::from_raw(0),
            GrantRef::new(0, 2),
            GrantRef::new(0, 0),
            GrantRef::first(1),
            GrantRef::first(63),
            GrantRef::first(64),
            GrantRef::first(255),
            GrantRef::from_raw(u64::MAX),
            GrantRef::from_raw(reference.raw() | 1 << 63),
        ] {
            assert_eq!(
                table.check(forged, BACK, false),
                Err(Status::Denied),
                "{forged:?}"
            );
            assert_eq!(
                table.end(forged),
                Err(Status::InvalidArgument),
                "{forged:?}"
            );
        }
    }

    #[test]
    fn a_copy_only_grant_says_so() {
        let mut table = GrantTable::default();
        let copy_only = Access {
            writable: true,
            mappable: false,
        };
        let reference = table.grant(BACK, 10, copy_only).unwrap();
        assert!(!table.check(reference, BACK, true).unwrap().mappable());
        let full = table.grant(BACK, 11, Access::FULL).unwrap();
        assert!(table.check(full, BACK, true).unwrap().mappable());
    }

    #[test]
    fn only_the_grantee_may_use_a_grant_and_writes_need_a_writable_one() {
        let mut table = GrantTable::default();
        let writable = table.grant(BACK, 10, Access::FULL).unwrap();
        let read_only = table.grant(BACK, 11, Access::READ).unwrap();
        assert!(table.check(writable, BACK, true).is_ok());
        assert!(table.check(read_only, BACK, false).is_ok());
        assert_eq!(table.check(read_only, BACK, true), Err(Status::Denied));
        assert_eq!(table.check(writable, THIRD, false), Err(Status::Denied));
        assert_eq!(table.check(writable, FRONT, false), Err(Status::Denied));
    }

    #[test]
    fn a_mapped_grant_cannot_end_until_every_mapping_is_gone() {
        let mut table = GrantTable::default();
        let reference = table.grant(BACK, 10, Access::FULL).unwrap();
        assert!(!table.any_mapped());
        table.add_map(reference);
        table.add_map(reference);
        assert!(table.any_mapped());
        assert_eq!(table.check(reference, BACK, false).map(|g| g.maps()), Ok(2));
        assert_eq!(table.end(reference), Err(Status::Busy));
        table.drop_map(reference);
        assert_eq!(table.end(reference), Err(Status::Busy));
        table.drop_map(reference);
        table.drop_map(reference);
        assert!(!table.any_mapped());
        assert_eq!(table.end(reference), Ok(()));
        table.add_map(reference);
        assert!(table.is_empty());
    }

    #[test]
    fn sixty_four_grants_at_most() {
        let mut table = GrantTable::default();
        for n in 0..GRANTS_MAX {
            assert_eq!(table.grant(BACK, n, Access::READ), Ok(GrantRef::first(n)));
        }
        assert_eq!(
            table.grant(BACK, 99, Access::READ),
            Err(Status::LimitReached)
        );
        table.end(GrantRef::first(40)).unwrap();
        assert_eq!(
            table.grant(BACK, 99, Access::READ),
            Ok(GrantRef::new(40, 2))
        );
    }

    #[test]
    fn a_slot_at_the_last_generation_is_retired() {
        let mut table = GrantTable::default();
        table.slots[0].generation = MAX_GENERATION;
        let last = table.grant(BACK, 1, Access::READ).unwrap();
        assert_eq!(last, GrantRef::new(0, MAX_GENERATION));
        table.end(last).unwrap();
        assert_eq!(table.grant(BACK, 2, Access::READ), Ok(GrantRef::first(1)));
    }
}
