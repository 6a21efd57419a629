//! `cargo xtask test`: host unit tests, then every QEMU scenario, then one
//! line `N passed, M failed`.
//!
//! Scenarios run one at a time, each from its own bundle under
//! `target/bundles/`, with QEMU's output captured and shown (indented) only
//! when the scenario fails. With `--repeat N` the whole selection runs N
//! times in order (so scenarios that read a disk an earlier one wrote keep
//! their order), and a scenario counts as passed only if all N runs
//! passed: a flake is a failure.

use std::process::ExitCode;
use std::time::Duration;

use crate::artifacts::{self, Artifacts, Output};
use crate::bundle;
use crate::cli::TestOptions;
use crate::crash_trials;
use crate::qemu::{self, Accel, AccelChoice, Boot, Ending};
use crate::scenario::Scenario;
use crate::scenarios;
use crate::unit_tests::{self, Tally, print_indented, print_progress};

/// Runs the whole test suite; the exit code is success only without failures.
pub fn run(options: TestOptions) -> Result<ExitCode, String> {
    let qemu = qemu::find()?;
    let accel = Accel::resolve(options.accel.unwrap_or(AccelChoice::Tcg))?;
    let items = selected(options.filter.as_deref())?;

    let mut tally = Tally::default();
    for suite in unit_tests::SUITES {
        tally += unit_tests::run_suite(suite);
    }

    print_progress("build ... ");
    match artifacts::build(options.profile, Output::Capture) {
        Ok(artifacts) => {
            println!("ok");
            let mut passes = vec![0u32; items.len()];
            for run in 1..=options.repeat {
                if options.repeat > 1 {
                    println!("run {run} of {}", options.repeat);
                }
                for (item, passed) in items.iter().zip(&mut passes) {
                    *passed += u32::from(run_item(item, &artifacts, &qemu, accel));
                }
            }
            tally += repeat_tally(&items, &passes, options.repeat);
        }
        Err(error) => {
            println!("FAILED");
            print_indented(&error);
            tally.failed += 1;
        }
    }

    println!("{} passed, {} failed", tally.passed, tally.failed);
    Ok(if tally.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One QEMU test: a scenario from the table, or the crash trials.
enum Item {
    Scenario(Box<Scenario>),
    CrashTrials,
}

impl Item {
    fn name(&self) -> &'static str {
        match self {
            Item::Scenario(scenario) => scenario.name,
            Item::CrashTrials => crash_trials::NAME,
        }
    }
}

/// The tests whose name contains `filter` (all without one).
fn selected(filter: Option<&str>) -> Result<Vec<Item>, String> {
    let all: Vec<Item> = scenarios::all()
        .into_iter()
        .map(|scenario| Item::Scenario(Box::new(scenario)))
        .chain([Item::CrashTrials])
        .collect();
    let Some(filter) = filter else {
        return Ok(all);
    };
    let names: Vec<&str> = all.iter().map(Item::name).collect();
    let chosen: Vec<Item> = all
        .into_iter()
        .filter(|item| item.name().contains(filter))
        .collect();
    if chosen.is_empty() {
        return Err(format!(
            "no scenario matches `{filter}` (scenarios: {})",
            names.join(", ")
        ));
    }
    Ok(chosen)
}

/// One tally entry per scenario: passed only if every run passed. With
/// more than one run, prints each scenario's pass count.
fn repeat_tally(items: &[Item], passes: &[u32], runs: u32) -> Tally {
    let mut tally = Tally::default();
    for (item, &passed) in items.iter().zip(passes) {
        if runs > 1 {
            let verdict = if passed == runs { "ok" } else { "FAILED" };
            println!("{:<40} {passed}/{runs} {verdict}", item.name());
        }
        if passed == runs {
            tally.passed += 1;
        } else {
            tally.failed += 1;
        }
    }
    tally
}

/// Runs one test and prints its result line (and its log on failure);
/// returns whether it passed.
fn run_item(item: &Item, artifacts: &Artifacts, qemu: &std::path::Path, accel: Accel) -> bool {
    print_progress(&format!("scenario {} ... ", item.name()));
    let result = match item {
        Item::Scenario(scenario) => boot_and_check(scenario, artifacts, qemu, accel).map(|()| None),
        Item::CrashTrials => crash_trials::run(artifacts, qemu, accel).map(Some),
    };
    match result {
        Ok(summary) => {
            match summary {
                Some(summary) => println!("ok: {summary}"),
                None => println!("ok"),
            }
            true
        }
        Err((reason, log)) => {
            println!("FAILED: {reason}");
            if let Some(log) = log {
                print_indented(&log);
            }
            false
        }
    }
}

/// Boots `scenario`; on failure returns the reason and, when QEMU ran, its
/// output.
fn boot_and_check(
    scenario: &Scenario,
    artifacts: &Artifacts,
    qemu: &std::path::Path,
    accel: Accel,
) -> Result<(), (String, Option<String>)> {
    let bundle_path = artifacts::target_dir()
        .join("bundles")
        .join(format!("{}.bundle", scenario.name));
    scenario
        .guest_specs(artifacts)
        .and_then(|guests| bundle::write(&bundle_path, &guests))
        .map_err(|error| (error, None))?;
    let boot = Boot {
        qemu: qemu.to_path_buf(),
        hypervisor: artifacts.hypervisor(),
        bundle: bundle_path,
        cmdline: scenario.cmdline.clone(),
        accel,
        disk: scenario.disk_image()?,
    };
    let mut input = scenario.input.clone();
    input.extend_from_slice(crate::qemu::END_OF_INPUT);
    let captured = boot
        .run_captured_until(
            scenario.timeout,
            &input,
            scenario.kill_on.map(|pattern| (pattern, Duration::ZERO)),
            scenario.pace,
        )
        .map_err(|error| (error, None))?;
    let mut log = captured.serial.clone();
    if !captured.stderr.trim().is_empty() {
        if !log.is_empty() && !log.ends_with('\n') {
            log.push('\n');
        }
        log.push_str("--- qemu stderr ---\n");
        log.push_str(&captured.stderr);
    }
    match captured.ending {
        Ending::TimedOut(timeout) => {
            Err((format!("timed out after {}s", timeout.as_secs()), Some(log)))
        }
        Ending::Exited(status) => scenario
            .expect
            .check(status.code(), &captured.serial)
            .map_err(|reason| (reason, Some(log))),
        Ending::Killed => scenario
            .expect
            .check(None, &captured.serial)
            .map_err(|reason| (reason, Some(log))),
    }
}
