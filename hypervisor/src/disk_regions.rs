//! The regions of the one physical disk handed out to domains at boot.
//!
//! Each domain with a disk gets a run of sectors: the one its bundle entry
//! names, or else the `id`-th region of the `dom_disk` size. The hypervisor
//! does not drive the disk and does not know its size (the driver domain's
//! backend refuses a region beyond it), but it does know every region it
//! hands out, so it refuses one that wraps round the sector numbers or
//! that shares a sector with another domain's: two domains writing the same
//! sectors would corrupt each other's filesystems.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// A run of sectors: first sector and number of sectors (never zero, and
/// `first + sectors` does not wrap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    first: u64,
    sectors: u64,
}

impl Region {
    /// First sector.
    pub fn first(self) -> u64 {
        self.first
    }

    /// Number of sectors.
    pub fn sectors(self) -> u64 {
        self.sectors
    }

    fn end(self) -> u64 {
        self.first + self.sectors
    }

    fn overlaps(self, other: Region) -> bool {
        self.first < other.end() && other.first < self.end()
    }
}

/// The regions handed out so far, each with its domain's id and name.
#[derive(Debug, Default)]
pub struct DiskRegions {
    given: Vec<(u32, String, Region)>,
}

impl DiskRegions {
    /// The region for domain `id` (`requested`: the bundle entry's
    /// `(first, sectors)`, `None`: the default region of `region_bytes`),
    /// checked against every region handed out so far. Nothing is recorded
    /// until [`DiskRegions::record`].
    pub fn region_for(
        &self,
        requested: Option<(u64, u64)>,
        id: u32,
        region_bytes: u64,
    ) -> Result<Region, String> {
        let default = region_bytes / 512;
        let (first, sectors) = match requested {
            Some(requested) => requested,
            None => (
                (id as u64).saturating_sub(1).saturating_mul(default),
                default,
            ),
        };
        if first.checked_add(sectors).is_none() {
            return Err(format!(
                "disk region of {sectors} sectors at sector {first} wraps round the sector numbers"
            ));
        }
        let region = Region { first, sectors };
        match self
            .given
            .iter()
            .find(|(_, _, other)| other.overlaps(region))
        {
            Some((other_id, name, other)) => Err(format!(
                "disk region of {sectors} sectors at sector {first} overlaps domain \
                 {other_id} ({name})'s, {} sectors at sector {}",
                other.sectors, other.first
            )),
            None => Ok(region),
        }
    }

    /// Records `region` as domain `id`'s (once the domain exists).
    pub fn record(&mut self, id: u32, name: &str, region: Region) {
        self.given.push((id, String::from(name), region));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOUR_MIB: u64 = 4 << 20;

    #[test]
    fn default_regions_follow_each_other() {
        let mut regions = DiskRegions::default();
        for id in 1..=3 {
            let region = regions.region_for(None, id, FOUR_MIB).unwrap();
            assert_eq!(
                (region.first(), region.sectors()),
                ((id as u64 - 1) * 8192, 8192)
            );
            regions.record(id, "d", region);
        }
    }

    #[test]
    fn a_region_sharing_a_sector_with_another_is_refused() {
        let mut regions = DiskRegions::default();
        let first = regions.region_for(Some((100, 50)), 1, FOUR_MIB).unwrap();
        regions.record(1, "alpha", first);
        let error = regions
            .region_for(Some((149, 10)), 2, FOUR_MIB)
            .unwrap_err();
        assert!(
            error.contains("overlaps domain 1 (alpha)'s, 50 sectors at sector 100"),
            "{error}"
        );
        assert!(regions.region_for(Some((90, 11)), 2, FOUR_MIB).is_err());
        assert!(regions.region_for(Some((0, 1000)), 2, FOUR_MIB).is_err());
        // Touching at either end is not sharing.
        assert!(regions.region_for(Some((150, 10)), 2, FOUR_MIB).is_ok());
        assert!(regions.region_for(Some((90, 10)), 2, FOUR_MIB).is_ok());
    }

    #[test]
    fn an_unrecorded_region_blocks_nothing() {
        let regions = DiskRegions::default();
        assert!(regions.region_for(Some((0, 10)), 1, FOUR_MIB).is_ok());
        assert!(regions.region_for(Some((0, 10)), 2, FOUR_MIB).is_ok());
    }

    #[test]
    fn a_region_wrapping_round_is_refused() {
        let regions = DiskRegions::default();
        let error = regions
            .region_for(Some((u64::MAX - 10, 100)), 1, FOUR_MIB)
            .unwrap_err();
        assert!(error.contains("wraps round the sector numbers"));
    }
}
