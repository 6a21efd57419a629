//! Crash trials: the machine is killed (SIGKILL, as a power cut would)
//! at a random moment while a guest writes to its disk, then booted again
//! on the same image; every record the guest reported flushed before the
//! kill must read back intact.
//!
//! Each trial boots the `journal` guest twice (see its file): `mode=write`
//! until a random delay after it starts writing, then `mode=verify`. The
//! writer prints `flushed through N` after each flush and the reader
//! `intact through M`; the trial passes when M >= the last N the host saw
//! (lines can only lag behind the flushes they report, never lead them).
//! Delays are drawn from a seed printed with every failure, so a failing
//! trial's timing can be aimed at again.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::artifacts::Artifacts;
use crate::bundle::{self, GuestSpec};
use crate::qemu::{Accel, Boot, Ending, ReadPace};

/// The name `--filter` selects the trials by.
pub const NAME: &str = "crash-during-writes";
/// Trials in one run of the suite (`--repeat N` runs N times as many).
const TRIALS: u64 = 3;
/// The journal's disk, in MiB (the whole disk is the one domain's).
const DISK_MIB: u64 = 16;
/// Kills land this long after the writer starts, at most: writing the
/// 16 MiB journal takes about 1.5 s under TCG, so most kills are
/// mid-write; the rest test a finished journal.
const MAX_DELAY_MS: u64 = 1500;
/// Time each boot may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The line after which the kill is timed.
const WRITING: &str = "journal: writing";

/// What one trial saw.
struct Trial {
    flushed: u64,
    mid_write: bool,
}

/// Runs the trials with a seed from the clock; returns a summary line, or
/// the reason and log of the first failure.
pub fn run(
    artifacts: &Artifacts,
    qemu: &Path,
    accel: Accel,
) -> Result<String, (String, Option<String>)> {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |elapsed| elapsed.as_nanos() as u64);
    let image = artifacts.read_guest("journal").map_err(|e| (e, None))?;
    let (mut mid_write, mut records) = (0, 0);
    for trial in 0..TRIALS {
        let trial_seed = mix(seed.wrapping_add(trial));
        let delay = Duration::from_millis(trial_seed % MAX_DELAY_MS);
        let outcome = run_trial(&image, trial_seed, delay, artifacts, qemu, accel).map_err(
            |(why, log)| {
                (
                    format!("seed {trial_seed}, kill after {delay:?}: {why}"),
                    log,
                )
            },
        )?;
        mid_write += u64::from(outcome.mid_write);
        records += outcome.flushed;
    }
    Ok(format!(
        "{TRIALS} trials ({mid_write} killed mid-write), {records} flushed records intact"
    ))
}

fn run_trial(
    image: &[u8],
    seed: u64,
    delay: Duration,
    artifacts: &Artifacts,
    qemu: &Path,
    accel: Accel,
) -> Result<Trial, (String, Option<String>)> {
    let dir = crate::paths::target_dir().join("crash-trials");
    let disk = dir.join("journal.img");
    let _ = std::fs::remove_file(&disk);
    crate::disk_image::zeroed(&disk, DISK_MIB).map_err(|e| (e, None))?;
    let boot = |mode: &str| -> Result<Boot, (String, Option<String>)> {
        let path = dir.join(format!("{mode}.bundle"));
        let spec = GuestSpec {
            name: "journal".into(),
            args: format!("mode={mode} seed={seed}"),
            image: image.to_vec().into(),
            extras: shared_abi::bundle::EntryExtras::default(),
        };
        let mut specs = vec![spec];
        crate::default_driver::append(artifacts, true, &mut specs).map_err(|e| (e, None))?;
        bundle::write(&path, &specs).map_err(|e| (e, None))?;
        Ok(Boot {
            qemu: qemu.to_path_buf(),
            hypervisor: artifacts.hypervisor(),
            bundle: path,
            cmdline: vec![format!("dom_disk={DISK_MIB}M")],
            accel,
            disk: Some(disk.clone()),
            memory: crate::qemu::DEFAULT_MACHINE_MEMORY,
            icount: None,
            debugcon: None,
            debug: None,
        })
    };
    let writer = boot("write")?
        .run_captured_until(TIMEOUT, b"", None, Some((WRITING, delay)), ReadPace::Eager)
        .map_err(|e| (e, None))?;
    if !matches!(writer.ending, Ending::Killed) {
        return Err(("the writer was not killed".into(), Some(writer.serial)));
    }
    let flushed = last_number(&writer.serial, "[journal] flushed through ").unwrap_or(0);
    let mid_write = !writer.serial.contains("[journal] journal full");
    let reader = boot("verify")?
        .run_captured(TIMEOUT)
        .map_err(|e| (e, None))?;
    let log = format!("{}--- after the kill ---\n{}", writer.serial, reader.serial);
    let Some(intact) = last_number(&reader.serial, "[journal] intact through ") else {
        return Err(("the reader reported nothing".into(), Some(log)));
    };
    if intact < flushed {
        return Err((
            format!("{flushed} records were flushed but only {intact} read back intact"),
            Some(log),
        ));
    }
    Ok(Trial { flushed, mid_write })
}

/// The number after the last occurrence of `prefix` at the start of a line.
fn last_number(log: &str, prefix: &str) -> Option<u64> {
    log.lines()
        .filter_map(|line| line.trim_end().strip_prefix(prefix))
        .filter_map(|rest| rest.parse().ok())
        .next_back()
}

/// splitmix64: spreads consecutive seeds apart.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_last_reported_number() {
        let log = "[journal] flushed through 8\n[journal] flushed through 24\r\nother\n";
        assert_eq!(last_number(log, "[journal] flushed through "), Some(24));
        assert_eq!(last_number(log, "[journal] intact through "), None);
    }
}
