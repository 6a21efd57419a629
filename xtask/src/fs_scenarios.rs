//! The file-system scenarios: the test tree read whole (a file of more
//! than 8 MiB streamed, symbolic links followed) on ext2 and ext4 (and a
//! write accepted on ext2, refused on ext4), targeted
//! corruptions each answered with its own error, and random damage from
//! seeds. Each boot runs several domains, each with its own region of the
//! disk, and types a script into each shell in turn (`Ctrl-A N` moves the
//! console focus to domain N).

use shared_abi::exit::HvExit;

use crate::disk_damage::{Damage, RANDOM_FILES};
use crate::disk_image::Region;
use crate::fs_checks::{
    heap_follows_memory, random_damage_reads_are_exact_or_errors, random_domain,
    random_ext4_damage_reads_are_exact_or_errors, streamed_files_match_the_host,
};
use crate::scenario::Scenario;

/// Seeds of the random-damage boot, one domain each.
pub const RANDOM_SEEDS: [u64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
/// Environment variable naming other seeds (`42`, or `9-16`; at most 9).
pub const SEEDS_VARIABLE: &str = "FS_DAMAGE_SEEDS";

/// The seeds to damage images with: [`RANDOM_SEEDS`], or those named by
/// [`SEEDS_VARIABLE`] (to reproduce a failure, or to search further).
fn seeds() -> Vec<u64> {
    let Ok(text) = std::env::var(SEEDS_VARIABLE) else {
        return RANDOM_SEEDS.to_vec();
    };
    let parsed = match text.split_once('-') {
        Some((first, last)) => first
            .trim()
            .parse::<u64>()
            .ok()
            .zip(last.trim().parse::<u64>().ok())
            .map(|(first, last)| (first..=last).collect::<Vec<_>>()),
        None => text.trim().parse().ok().map(|seed| vec![seed]),
    };
    match parsed {
        Some(seeds) if (1..=9).contains(&seeds.len()) => seeds,
        _ => {
            eprintln!(
                "error: {SEEDS_VARIABLE}={text}: expected a seed or a range of at most 9 seeds, like 9-16"
            );
            std::process::exit(1)
        }
    }
}

/// Targeted corruptions: domain name, damage, command typed, and the line
/// the domain must answer with (after its name prefix).
const CORRUPTIONS: [(&str, Damage, &str, &str); 9] = [
    (
        "magic",
        Damage::BadMagic,
        "ls",
        "disk: 32768 sectors, not mounted: not an ext2/3/4 filesystem: bad magic 0x0000 (an ext2/3/4 superblock has 0xef53)",
    ),
    (
        "feature",
        Damage::UnsupportedFeature,
        "ls",
        "disk: 32768 sectors, not mounted: unsupported filesystem: incompatible features inline_data",
    ),
    (
        "inodes",
        Damage::InodesPerGroup,
        "ls",
        "disk: 32768 sectors, not mounted: corrupt filesystem: inodes per group 2147483647 is not from 1 to 8192",
    ),
    (
        "blocks",
        Damage::BlocksPerGroup,
        "ls",
        "disk: 32768 sectors, not mounted: corrupt filesystem: blocks per group 1000000 is not a multiple of 8 from 8 to 8192",
    ),
    (
        "group",
        Damage::GroupOutside,
        "ls",
        "disk: 32768 sectors, not mounted: corrupt filesystem: group 1: inode table at block 16711680 (512 blocks) lies outside the filesystem's blocks 2..16384",
    ),
    (
        "size",
        Damage::HugeInodeSize,
        "sum /hello.txt",
        "/hello.txt: corrupt filesystem: file size 1099511627781 is more than the 17247252480 bytes a block map can address",
    ),
    (
        "inflated",
        Damage::Inflated8MiB,
        "sum /hello.txt",
        // The rest of the block map is holes, which read as zeros.
        "fnv1a f0ff48171d7e007f 8388608 bytes /hello.txt",
    ),
    (
        "beyond",
        Damage::BlockBeyond,
        "sum /docs/numbers.txt",
        "/docs/numbers.txt: corrupt filesystem: a block pointer names block 17384, outside the filesystem's blocks 2..16384",
    ),
    (
        "dirent",
        Damage::DirentLength,
        "ls /",
        "/: corrupt filesystem: ",
    ),
];

fn focus(domain: usize, script: &str) -> Vec<u8> {
    let mut input = vec![0x01, b'0' + domain as u8];
    input.extend_from_slice(script.as_bytes());
    input
}

/// The file-system scenarios, in the order they run.
pub fn all() -> Vec<Scenario> {
    let tree_script = "disk\nmem\nls /links\nsum /big.bin\ncat /links/relative\ncat /links/chain\n\
                       cat /links/absolute\nsum /links/long\nls /links/docs\ncat /links/loop-a\necho still serving\n\
                       write /new.txt written here\ncat /new.txt\n";
    let mut input = focus(1, tree_script);
    input.extend(focus(2, tree_script));
    let mut tree = Scenario::new("fs-large-file-symlinks-ext4", HvExit::Success)
        .guest("alpha", "guest-kernel", "")
        .guest("beta", "guest-kernel", "")
        .regions(&[Region::Tree, Region::Ext4])
        .cmdline("dom_mem=32M")
        .input(&input)
        .exact("[alpha] disk: 32768 sectors, ext2 filesystem mounted")
        .exact("[beta] disk: 32768 sectors, ext4 filesystem mounted")
        .check(streamed_files_match_the_host)
        .check(heap_follows_memory);
    for domain in ["alpha", "beta"] {
        for line in [
            "Hello from the guest's disk!",
            "The microhypervisor runs paravirtualized guest kernels in ring 3.",
            "about.txt",
            "loop-a",
            "/links/loop-a: too many levels of symbolic links (more than 8)",
            "still serving",
        ] {
            tree = tree.exact(&format!("[{domain}] {line}"));
        }
        tree = tree.line(&format!("'{domain}' shut down with code 0"));
    }
    // ext2 is written; ext4 refuses, naming what it does not write.
    tree = tree.exact("[alpha] written here").line(
        "[beta] /new.txt: read-only: the filesystem has features this kernel does not write (has_journal",
    );

    let mut corrupt = Scenario::new("fs-corrupt-disks", HvExit::Success);
    let mut regions = Vec::new();
    let mut input = Vec::new();
    for (index, (name, damage, command, answer)) in CORRUPTIONS.iter().enumerate() {
        regions.push(Region::Damaged(*damage));
        input.extend(focus(
            index + 1,
            &format!("{command}\necho {name} still serving\n"),
        ));
        corrupt = corrupt
            .guest(name, "guest-kernel", "")
            .line(&format!("[{name}] {answer}"))
            .exact(&format!("[{name}] {name} still serving"))
            .line(&format!("'{name}' shut down with code 0"));
    }
    corrupt = corrupt.regions(&regions).input(&input).forbid("panic");

    let random = random_damage("fs-random-damage", Region::Random)
        .check(random_damage_reads_are_exact_or_errors);
    let random_ext4 = random_damage("fs-random-damage-ext4", Region::RandomExt4)
        .check(random_ext4_damage_reads_are_exact_or_errors);
    vec![tree, corrupt, random, random_ext4]
}

/// A boot of one domain per seed, each region damaged by `region(seed)`,
/// each shell reading every file of [`RANDOM_FILES`] and listing.
fn random_damage(name: &'static str, region: fn(u64) -> Region) -> Scenario {
    let mut scenario = Scenario::new(name, HvExit::Success);
    let mut regions = Vec::new();
    let mut input = Vec::new();
    let script: String = RANDOM_FILES
        .iter()
        .map(|file| format!("sum {file}\n"))
        .chain(["ls /\n".into(), "ls /docs\n".into(), "echo alive\n".into()])
        .collect();
    for (index, seed) in seeds().iter().enumerate() {
        let kind = match region(*seed) {
            Region::RandomExt4(_) => "ext4",
            _ => "ext2",
        };
        regions.push(region(*seed));
        input.extend(focus(index + 1, &script));
        scenario = scenario.guest(&random_domain(kind, *seed), "guest-kernel", "");
    }
    scenario.regions(&regions).input(&input).forbid("panic")
}
