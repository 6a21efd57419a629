//! Checks of a whole serial log (and of the disk images a boot leaves)
//! that a substring cannot express: checksums, counts, the host's view of a
//! disk. Scenarios name them with `Scenario::check`.

/// FNV-1a, as the guests compute it.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ *byte as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The `up N.NNN s` line shows a small, positive virtual time.
pub fn uptime_is_plausible(log: &str) -> Result<(), String> {
    let line = log
        .lines()
        .find_map(|l| l.strip_prefix("[alpha] up "))
        .ok_or("no uptime line")?;
    let seconds: f64 = line
        .trim_end_matches(" s")
        .parse()
        .map_err(|_| format!("bad uptime `{line}`"))?;
    if (0.0..60.0).contains(&seconds) && seconds > 0.0 {
        Ok(())
    } else {
        Err(format!("implausible uptime {seconds} s"))
    }
}

/// The README guest slept at least its 50 ms and the 10 ms tick ran
/// meanwhile: at least once (a tick late by a host stall counts once for
/// the periods it missed), and no more often than the time allows.
pub fn ticks_match_the_sleep(log: &str) -> Result<(), String> {
    let line = log
        .lines()
        .filter_map(|l| l.strip_prefix("[readme] "))
        .find(|l| l.contains(" ticks while sleeping "))
        .ok_or("no tick line")?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let (Some(ticks), Some(ms)) = (
        words.first().and_then(|w| w.parse::<u64>().ok()),
        words.get(4).and_then(|w| w.parse::<u64>().ok()),
    ) else {
        return Err(format!("bad tick line `{line}`"));
    };
    if ms >= 50 && ticks >= 1 && ticks <= ms / 10 + 1 {
        Ok(())
    } else {
        Err(format!(
            "{ticks} ticks in {ms} ms: expected a 50 ms sleep with a 10 ms tick"
        ))
    }
}

/// Every `data` line the printer sent arrived, in order: the FNV-1a hash of
/// what arrived equals the one the guest computed over what it sent.
pub fn printed_data_is_intact(log: &str) -> Result<(), String> {
    let mut bytes = Vec::new();
    let mut lines = 0u64;
    for line in log
        .lines()
        .filter_map(|l| l.strip_prefix("[printer] "))
        .filter(|l| l.starts_with("data "))
    {
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        lines += 1;
    }
    let hash = fnv1a(&bytes);
    let expected = format!("[printer] checksum {hash:016x} lines {lines}");
    if log.lines().any(|l| l == expected) {
        Ok(())
    } else {
        let sent = log
            .lines()
            .find(|l| l.starts_with("[printer] checksum"))
            .unwrap_or("no checksum line");
        Err(format!(
            "received {lines} lines hashing to {hash:016x}, but the guest sent `{sent}`"
        ))
    }
}

/// After the boot, the disk image holds each domain's patterns in its own
/// 4 MiB region: written, flushed, and not in the other's region.
pub fn patterns_are_on_disk_in_separate_regions(_log: &str) -> Result<(), String> {
    let path = crate::paths::target_dir()
        .join("disks")
        .join("block-edges-and-isolation.img");
    let image = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let pattern = |seed: u8| -> Vec<u8> {
        (0..4096usize)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    };
    let region = 4 << 20;
    for domain in 1..=2u8 {
        let start = (domain as usize - 1) * region;
        let first = image.get(start..start + 4096).ok_or("image too small")?;
        let last = image
            .get(start + region - 4096..start + region)
            .ok_or("image too small")?;
        if first != pattern(domain) || last != pattern(domain ^ 0x5a) {
            return Err(format!(
                "domain {domain}'s patterns are not at the edges of its region in the image"
            ));
        }
    }
    Ok(())
}

/// The pattern the guest flushed just before QEMU was killed is in the
/// image, read from the host.
pub fn persisted_pattern_is_in_the_image(_log: &str) -> Result<(), String> {
    let path = crate::paths::target_dir()
        .join("disks")
        .join("persistence-killed-after-flush.img");
    let image = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let expected: Vec<u8> = (0..4096usize)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(1 ^ 0x5a))
        .collect();
    let region_end = 4 << 20;
    match image.get(region_end - 4096..region_end) {
        Some(found) if found == expected => Ok(()),
        _ => Err("the flushed pattern is not in the disk image after the kill".into()),
    }
}

/// `sum /docs/numbers.txt` in the guest equals the FNV-1a hash of the file
/// in the repository the image was made from.
pub fn checksum_matches_the_repository_file(log: &str) -> Result<(), String> {
    let path = crate::paths::workspace_root().join("guest-kernel/disk/docs/numbers.txt");
    let data = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let hash = fnv1a(&data);
    let expected = format!(
        "[alpha] fnv1a {hash:016x} {} bytes /docs/numbers.txt",
        data.len()
    );
    match log.lines().any(|line| line == expected) {
        true => Ok(()),
        false => Err(format!("missing the line `{expected}`")),
    }
}

/// A corrupt ring is reported once, however often the guest notifies.
pub fn each_corruption_reported_once(log: &str) -> Result<(), String> {
    for name in ["'beyond'", "'backwards'"] {
        let count = log
            .lines()
            .filter(|l| l.contains(name) && l.contains("ring corrupt"))
            .count();
        if count != 1 {
            return Err(format!("{name}'s corrupt ring reported {count} times"));
        }
    }
    Ok(())
}

/// Domains of the fair-share scenario.
pub const FAIR_SHARE_DOMAINS: u64 = 64;

/// Every one of the [`FAIR_SHARE_DOMAINS`] spinners reported a share of
/// its window (`share_ppm`, parts per million of the machine time it ran)
/// within 10% of an equal share, 1/64.
pub fn every_share_is_fair(log: &str) -> Result<(), String> {
    shares_within(log, FAIR_SHARE_DOMAINS, FAIR_SHARE_DOMAINS, (9, 11))
}

/// Spinners beside the console hog in `fair-share-console-hog`.
pub const HOG_SHARE_SPINNERS: u64 = 4;

/// Each of the [`HOG_SHARE_SPINNERS`] spinners ran at least 70% of an equal
/// share of the machine with the hog (1/5): the time the hog's console
/// calls cost was charged to the hog. (The bound is loose because these
/// are wall-clock shares under TCG; without the charging each spinner got
/// about half of its share.)
pub fn the_console_hog_pays_for_its_output(log: &str) -> Result<(), String> {
    shares_within(log, HOG_SHARE_SPINNERS, HOG_SHARE_SPINNERS + 1, (7, 100))
}

/// Exactly `spinners` `share_ppm` lines, each within `low/10` to `high/10`
/// of a `1/domains` share.
fn shares_within(
    log: &str,
    spinners: u64,
    domains: u64,
    (low, high): (u64, u64),
) -> Result<(), String> {
    let fair = 1_000_000 / domains;
    let (low, high) = (fair * low / 10, fair * high / 10);
    let shares: Vec<(&str, u64)> = log
        .lines()
        .filter_map(|line| {
            let (name, rest) = line.split_once("] share_ppm ")?;
            let ppm = rest.split_whitespace().next()?.parse().ok()?;
            Some((name.trim_start_matches('['), ppm))
        })
        .collect();
    if shares.len() as u64 != spinners {
        return Err(format!("{} shares reported, not {spinners}", shares.len()));
    }
    let unfair: Vec<String> = shares
        .iter()
        .filter(|(_, ppm)| !(low..=high).contains(ppm))
        .map(|(name, ppm)| format!("{name} {ppm}"))
        .collect();
    match unfair.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "shares outside {low}..={high} ppm: {}",
            unfair.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn printed_data_check_detects_a_lost_line() {
        let good = "[printer] data 1\n[printer] data 2\n";
        let hash = fnv1a(b"data 1\ndata 2\n");
        let log = format!("{good}[printer] checksum {hash:016x} lines 2\n");
        assert!(printed_data_is_intact(&log).is_ok());
        let lost = format!("[printer] data 1\n[printer] checksum {hash:016x} lines 2\n");
        assert!(printed_data_is_intact(&lost).is_err());
    }

    #[test]
    fn tick_check_needs_a_full_sleep_and_a_plausible_count() {
        let line = |text: &str| format!("[readme] hello\n[readme] {text}\n");
        assert!(ticks_match_the_sleep(&line("5 ticks while sleeping 50 ms")).is_ok());
        assert!(ticks_match_the_sleep(&line("0 ticks while sleeping 50 ms")).is_err());
        assert!(ticks_match_the_sleep(&line("9 ticks while sleeping 50 ms")).is_err());
        assert!(ticks_match_the_sleep(&line("5 ticks while sleeping 49 ms")).is_err());
        assert!(ticks_match_the_sleep("[readme] hello\n").is_err());
    }

    #[test]
    fn fair_share_check_finds_an_unfair_domain() {
        let line = |i: u64, ppm: u64| format!("[share-{i}] share_ppm {ppm} running_us 1\n");
        let fair: String = (1..=FAIR_SHARE_DOMAINS).map(|i| line(i, 15_600)).collect();
        assert_eq!(every_share_is_fair(&fair), Ok(()));
        let mut unfair: String = (2..=FAIR_SHARE_DOMAINS).map(|i| line(i, 15_600)).collect();
        unfair.push_str(&line(1, 13_900));
        let error = every_share_is_fair(&unfair).unwrap_err();
        assert!(error.contains("share-1 "), "{error}");
        assert!(every_share_is_fair(&fair[..fair.len() / 2]).is_err());
    }
}
