//! `cargo xtask fuzz`: the hypercall fuzzer (`guest-kernel/src/bin/fuzz.rs`)
//! next to the bystander (`bystander.rs`), which measures its own CPU share.
//!
//! The fuzzer aims at the hypervisor's own structures too: xtask reads the
//! hypervisor ELF's symbol table and passes the addresses of its IDT,
//! `trap_return`, TSS, kernel stack, domain table and GDT in the fuzzer's
//! argument string (`hv=`, hex offsets from the kernel window, to fit the
//! 80 bytes a bundle entry has). The same boot is the `hypercall-fuzz`
//! scenario of `cargo xtask test`, with a fixed seed.

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use shared_abi::Hypercall;
use shared_abi::exit::HvExit;

use crate::artifacts::{self, Output, Profile};
use crate::fuzz_targets::HV_PLACEHOLDER;
use crate::qemu::{self, Accel};
use crate::scenario::Scenario;

/// Options of `cargo xtask fuzz`.
#[derive(Debug, PartialEq, Eq)]
pub struct FuzzOptions {
    /// Hypercalls the fuzzer makes.
    pub calls: u64,
    /// The seed (picked from the clock when absent).
    pub seed: Option<u64>,
    /// Overrides the timeout scaled to `calls`.
    pub timeout: Option<Duration>,
}

/// Calls `cargo xtask fuzz` makes without `--calls`.
pub const DEFAULT_CALLS: u64 = 100_000;
/// The seed of the `hypercall-fuzz` scenario.
pub const SCENARIO_SEED: u64 = 20_261_125;
/// Calls of the `hypercall-fuzz` scenario.
pub const SCENARIO_CALLS: u64 = 100_000;

/// From this many calls on, every number is drawn (the rarest, `yield`
/// and `block`, about once in a thousand calls).
const EVERY_NUMBER_FROM: u64 = 20_000;

/// Under TCG the fuzzing boots count time in instructions, 8 ns each (a
/// 125 MHz machine): the bystander's share then measures the hypervisor's
/// scheduling alone, not whatever else the host is running.
pub const ICOUNT_SHIFT: u8 = 3;

/// The fuzzer and the bystander: `calls` hypercalls from `seed`, and what a
/// clean run shows. No disk: the fuzzer's model of the domains is these
/// two (a disk would bring a driver domain).
pub fn scenario(name: &'static str, seed: u64, calls: u64) -> Scenario {
    let scenario = Scenario::new(name, HvExit::Success)
        .guest(
            "fuzz",
            "fuzz",
            &format!("seed={seed} calls={calls} {HV_PLACEHOLDER}"),
        )
        .guest(
            "bystander",
            "bystander",
            "peer=fuzz window_ms=500 min_share=40",
        )
        // The fuzzer's expectations name every domain there is (itself and
        // the bystander): no driver domain beside them.
        .no_driver()
        .instruction_clock(ICOUNT_SHIFT)
        .line(&format!(
            "[fuzz] seed {seed}: {calls} calls, sequence checksum "
        ))
        .line("[bystander] cpu share while 'fuzz' ran")
        .finishes("fuzz")
        .finishes("bystander")
        .forbid("hv: FATAL")
        .forbid("stopped at rip")
        .forbid("nothing to wake it")
        .timeout(timeout_for(calls));
    match calls >= EVERY_NUMBER_FROM {
        true => scenario.check(every_number_was_fuzzed),
        false => scenario,
    }
}

/// Time a run of `calls` may take under TCG: the boot, then a generous
/// rate (clean runs make about 20,000 calls a second; this allows 6,700).
pub fn timeout_for(calls: u64) -> Duration {
    Duration::from_secs(30) + Duration::from_micros(calls.saturating_mul(150))
}

/// The fuzzer's summary has a line for every defined number but
/// `shutdown`, and for unknown numbers, each with calls.
pub fn every_number_was_fuzzed(log: &str) -> Result<(), String> {
    let mut called = vec![false; Hypercall::ALL.len() + 1];
    for line in log.lines().filter_map(|line| line.strip_prefix("[fuzz] ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = words.iter().position(|word| word.starts_with("calls")) else {
            continue;
        };
        let (Some(number), Some(count)) = (words.first(), at.checked_sub(1).map(|i| words[i]))
        else {
            continue;
        };
        let row = match *number {
            "-" => Hypercall::ALL.len(),
            digits => match digits.parse::<usize>() {
                Ok(row) if words.get(1) == Hypercall::ALL.get(row).map(|c| c.name()).as_ref() => {
                    row
                }
                _ => continue,
            },
        };
        if count.parse::<u64>().is_ok_and(|count| count > 0) {
            called[row] = true;
        }
    }
    let missing: Vec<String> = called
        .iter()
        .enumerate()
        .filter(|&(row, called)| !called && row != Hypercall::Shutdown as usize)
        .map(|(row, _)| {
            Hypercall::ALL
                .get(row)
                .map_or("unknown numbers".to_string(), |call| {
                    call.name().to_string()
                })
        })
        .collect();
    match missing.is_empty() {
        true => Ok(()),
        false => Err(format!("never fuzzed: {}", missing.join(", "))),
    }
}

/// The value of `--calls`: a positive count (`_` separators allowed).
pub fn parse_calls(value: &str) -> Result<u64, String> {
    match value.replace('_', "").parse::<u64>() {
        Ok(count) if count > 0 => Ok(count),
        _ => Err(format!(
            "invalid --calls `{value}`: expected a positive number"
        )),
    }
}

/// The value of `--seed`: any 64-bit number.
pub fn parse_seed(value: &str) -> Result<u64, String> {
    value
        .parse::<u64>()
        .map_err(|_| format!("invalid --seed `{value}`: expected a number from 0 to 2^64-1"))
}

/// `cargo xtask fuzz`.
pub fn run(options: FuzzOptions) -> Result<ExitCode, String> {
    let qemu = qemu::find()?;
    let seed = options.seed.unwrap_or_else(seed_from_clock);
    let calls = options.calls;
    let reproduce = format!("cargo xtask fuzz --calls {calls} --seed {seed}");
    println!("fuzz: seed {seed}, {calls} calls ({reproduce})");
    let artifacts = artifacts::build(Profile::Release, Output::Capture)?;
    let mut scenario = scenario("fuzz", seed, calls);
    if let Some(timeout) = options.timeout {
        scenario.timeout = timeout;
    }
    let log_path = crate::paths::target_dir().join("fuzz.log");
    let started = Instant::now();
    let outcome = crate::scenario_boot::boot_scenario(&scenario, &artifacts, &qemu, Accel::Tcg);
    let elapsed = started.elapsed();
    let log = match &outcome {
        Ok(log) | Err((_, Some(log))) => log.as_str(),
        Err((_, None)) => "",
    };
    let _ = std::fs::write(&log_path, log);
    for line in log.lines().filter(|line| is_summary(line)) {
        println!("  {line}");
    }
    match &outcome {
        Ok(_) => {
            let rate = calls as f64 / elapsed.as_secs_f64().max(0.001);
            println!(
                "fuzz: clean: seed {seed}, {calls} calls in {:.1} s ({rate:.0} calls/s including boot); log in {}",
                elapsed.as_secs_f64(),
                log_path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err((reason, _)) => {
            let reason = match reason.contains("qemu exited with status 0") {
                true => format!("{reason} (the machine reset: a triple fault in the hypervisor?)"),
                false => reason.clone(),
            };
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            for line in tail.into_iter().rev() {
                println!("    {line}");
            }
            println!(
                "fuzz: FAILED after {:.1} s: {reason}",
                elapsed.as_secs_f64()
            );
            println!("fuzz: seed {seed}; full log in {}", log_path.display());
            println!("fuzz: reproduce with: {reproduce}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The lines of a fuzzing log worth showing after a run.
fn is_summary(line: &str) -> bool {
    line.starts_with("[fuzz] seed ")
        || line.starts_with("[fuzz] statuses seen")
        || line.contains("garbage writes")
        || line.starts_with("[bystander] cpu share")
        || line.contains("FAIL")
        || line.starts_with("hv: FATAL")
}

fn seed_from_clock() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(1, |since| since.as_nanos() as u64 % 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_check_wants_every_number() {
        let mut log = String::new();
        for (number, call) in Hypercall::ALL.iter().enumerate() {
            let count = if *call == Hypercall::Shutdown { 0 } else { 5 };
            log.push_str(&format!(
                "[fuzz] {number:>3} {:<22} {count:>8} calls: value {count}\n",
                call.name()
            ));
        }
        log.push_str("[fuzz]   - unknown numbers                 7 calls: UNKNOWN_HYPERCALL 7\n");
        assert_eq!(every_number_was_fuzzed(&log), Ok(()));
        let without_iret: String = log
            .lines()
            .filter(|line| !line.contains(" iret "))
            .map(|line| format!("{line}\n"))
            .collect();
        assert_eq!(
            every_number_was_fuzzed(&without_iret),
            Err("never fuzzed: iret".to_string())
        );
    }

    #[test]
    fn the_timeout_grows_with_the_calls() {
        assert!(timeout_for(1_000_000) > timeout_for(100_000));
        assert!(timeout_for(100_000) >= Duration::from_secs(30));
    }
}
