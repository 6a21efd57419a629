//! Damage done to a freshly made ext2 region before a boot: targeted
//! corruptions, each of which the guest must answer with a specific error,
//! and random corruption from a seed.
//!
//! Random damage XORs bytes, most of them inside the structures the guest
//! reads (superblock, group descriptors, the inodes and blocks of the files
//! it reads), the rest anywhere. ext2 has no checksums: a damaged data
//! block, block pointer, inode size or directory entry can give a file
//! other bytes without any inconsistency a reader could see. So the damage
//! step records, for each file, whether any damaged byte lies among the
//! bytes that decide its content ([`Ext2Map::content_ranges`]); the check
//! demands the exact bytes, or an error, only of the files it did not. On
//! ext4 with metadata checksums only a file's data blocks count as its own
//! bytes: damage anywhere else must be detected.

use std::ops::Range;

use crate::ext2_map::Ext2Map;

/// A targeted corruption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage {
    /// The superblock's magic is zeroed.
    BadMagic,
    /// The `inline_data` incompatible feature is set.
    UnsupportedFeature,
    /// Inodes per group is 0x7fffffff.
    InodesPerGroup,
    /// Blocks per group is 1,000,000.
    BlocksPerGroup,
    /// Group 1's inode table points past the end of the disk.
    GroupOutside,
    /// `/hello.txt`'s size is 2^40 + 5 bytes.
    HugeInodeSize,
    /// `/hello.txt`'s size is 8 MiB (its block map holds one block).
    Inflated8MiB,
    /// `/docs/numbers.txt`'s first block pointer lies beyond the disk.
    BlockBeyond,
    /// The first entry of the root directory has a record length of 5.
    DirentLength,
}

/// Files the random-damage guests read (and the checker compares).
pub const RANDOM_FILES: [&str; 4] = [
    "/hello.txt",
    "/docs/about.txt",
    "/docs/numbers.txt",
    "/medium.bin",
];

fn put32(region: &mut [u8], at: usize, value: u32) {
    region[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// Applies `damage` to a pristine region.
pub fn apply(region: &mut [u8], damage: Damage) -> Result<(), String> {
    let map = Ext2Map::new(region)?;
    let blocks = map.blocks;
    let hello = *map.path_inodes("/hello.txt")?.last().unwrap();
    let numbers = *map.path_inodes("/docs/numbers.txt")?.last().unwrap();
    let hello_at = map.inode(hello).start;
    let numbers_at = map.inode(numbers).start;
    let root_block = map.blocks(2).data[0];
    let root_at = map.block(root_block).start;
    let group1_at = map.descriptor(1).start;
    match damage {
        Damage::BadMagic => region[1024 + 0x38..1024 + 0x3a].fill(0),
        Damage::UnsupportedFeature => region[1024 + 0x61] |= 0x80,
        Damage::InodesPerGroup => put32(region, 1024 + 0x28, 0x7fff_ffff),
        Damage::BlocksPerGroup => put32(region, 1024 + 0x20, 1_000_000),
        Damage::GroupOutside => put32(region, group1_at + 8, 0x00ff_0000),
        Damage::HugeInodeSize => {
            put32(region, hello_at + 4, 5);
            put32(region, hello_at + 108, 1 << 8);
        }
        Damage::Inflated8MiB => put32(region, hello_at + 4, 8 << 20),
        Damage::BlockBeyond => put32(region, numbers_at + 40, blocks as u32 + 1000),
        Damage::DirentLength => {
            region[root_at + 4..root_at + 6].copy_from_slice(&5u16.to_le_bytes())
        }
    }
    Ok(())
}

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// Damages a pristine region from `seed`: one to four bytes, each XORed
/// with a random non-zero value, in a structure picked at random
/// (superblock fields, group descriptors, the inodes along the files'
/// paths, directory entries, indirect blocks, or anywhere at all). Returns
/// the files of [`RANDOM_FILES`] whose content-deciding bytes were hit.
pub fn random(region: &mut [u8], seed: u64) -> Result<Vec<&'static str>, String> {
    let pristine = region.to_vec();
    let map = Ext2Map::new(&pristine)?;
    let head = |range: Range<usize>, len: usize| range.start..range.start + len;
    let mut inodes = Vec::new();
    let mut directories = Vec::new();
    let mut indirect = Vec::new();
    let mut per_file = Vec::new();
    for file in RANDOM_FILES {
        let path = map.path_inodes(file)?;
        for (depth, inode) in path.iter().enumerate() {
            inodes.push(head(map.inode(*inode), 0x70));
            if depth + 1 < path.len() {
                let blocks = map.blocks(*inode).data;
                directories.extend(blocks.iter().map(|b| head(map.block(*b), 128)));
            }
        }
        let own = map.blocks(*path.last().unwrap());
        indirect.extend(own.indirect.iter().map(|b| head(map.block(*b), 64)));
        per_file.push((file, map.content_ranges(file)?));
    }
    let everything: Vec<_> = std::iter::once(0..(map.blocks * map.block_size) as usize).collect();
    let kinds = [
        std::iter::once(1024..1024 + 0x68).collect(),
        vec![map.descriptor(0), map.descriptor(1)],
        inodes,
        directories,
        indirect,
        everything,
    ];
    let hit = scatter(region, seed, &kinds);
    Ok(files_hit(&per_file, &hit))
}

/// XORs one to four bytes of `region` from `seed`, each in a range of a
/// kind picked at random; returns the offsets.
fn scatter(region: &mut [u8], seed: u64, kinds: &[Vec<Range<usize>>]) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    let mut hit = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let ranges = &kinds[rng.below(kinds.len() as u64) as usize];
        let range = &ranges[rng.below(ranges.len() as u64) as usize];
        let at = range.start + rng.below(range.len() as u64) as usize;
        region[at] ^= 1 + rng.below(255) as u8;
        hit.push(at);
    }
    hit
}

/// The files whose ranges contain one of the offsets in `hit`.
fn files_hit(per_file: &[(&'static str, Vec<Range<usize>>)], hit: &[usize]) -> Vec<&'static str> {
    per_file
        .iter()
        .filter(|(_, ranges)| hit.iter().any(|at| ranges.iter().any(|r| r.contains(at))))
        .map(|(file, _)| *file)
        .collect()
}

/// Damages a pristine ext4 region (with `metadata_csum`) from `seed`, as
/// [`random`] does: superblock fields, group descriptors, the inodes and
/// directory blocks along the files' paths, or anywhere. Every structure
/// hit there carries a checksum, so only a hit in a file's data blocks may
/// go unnoticed; returns the files whose data blocks were hit.
pub fn random_ext4(region: &mut [u8], seed: u64) -> Result<Vec<&'static str>, String> {
    let scratch = crate::paths::disks().join(format!("ext4-damage-{seed}.img"));
    std::fs::write(&scratch, &*region).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let mut paths = vec!["/", "/docs"];
    paths.extend(RANDOM_FILES);
    let entries = crate::ext4_map::entries(&scratch, &paths);
    let _ = std::fs::remove_file(&scratch);
    let _ = std::fs::remove_file(scratch.with_extension("debugfs"));
    let entries = entries?;
    let head = |range: &Range<usize>, len: usize| range.start..range.start + len;
    let inodes = entries.iter().map(|e| head(&e.inode, 0x80)).collect();
    let directories = entries[..2]
        .iter()
        .flat_map(|e| e.data.iter().map(|r| head(r, 128)))
        .collect();
    let descriptors = (0..2).map(|g| 2048 + 64 * g..2048 + 64 * (g + 1)).collect();
    let kinds = [
        std::iter::once(1024..1024 + 0x68).collect(),
        descriptors,
        inodes,
        directories,
        std::iter::once(0..region.len()).collect(),
    ];
    let hit = scatter(region, seed, &kinds);
    let per_file: Vec<_> = RANDOM_FILES
        .iter()
        .zip(&entries[2..])
        .map(|(file, entry)| (*file, entry.data.clone()))
        .collect();
    Ok(files_hit(&per_file, &hit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk_image::{self, Region};

    /// Builds a disk of pristine and damaged test-tree regions with
    /// `mke2fs` and checks each damage landed where it was aimed, and that
    /// random damage is the same for the same seed.
    #[test]
    fn damage_lands_where_aimed_and_random_damage_is_reproducible() {
        let path = crate::paths::disks().join("unit-test-damage.img");
        let regions = [
            Region::Tree,
            Region::Damaged(Damage::BadMagic),
            Region::Damaged(Damage::HugeInodeSize),
            Region::Random(5),
            Region::Random(5),
        ];
        let random = disk_image::regions(&path, &regions).unwrap();
        let image = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let bytes = disk_image::LARGE_REGION_BYTES as usize;
        let region = |index: usize| &image[index * bytes..(index + 1) * bytes];
        let pristine = Ext2Map::new(region(0)).unwrap();
        let hello = *pristine.path_inodes("/hello.txt").unwrap().last().unwrap();
        let numbers = pristine.blocks(
            *pristine
                .path_inodes("/docs/numbers.txt")
                .unwrap()
                .last()
                .unwrap(),
        );
        assert_eq!(numbers.data.len(), 30000usize.div_ceil(1024));
        assert_eq!(numbers.indirect.len(), 1);
        assert_eq!(&region(1)[1024 + 0x38..1024 + 0x3a], &[0, 0]);
        let inode = pristine.inode(hello);
        assert_eq!(
            &region(2)[inode.start + 4..inode.start + 8],
            &5u32.to_le_bytes()
        );
        assert_eq!(region(3), region(4));
        assert_ne!(region(3), region(0));
        assert_eq!(random[0], random[1]);
    }

    #[test]
    fn rng_is_deterministic_and_seeds_differ() {
        let take = |seed| {
            let mut rng = Rng::new(seed);
            (0..4).map(|_| rng.next()).collect::<Vec<_>>()
        };
        assert_eq!(take(3), take(3));
        assert_ne!(take(3), take(4));
    }
}
