//! `cargo xtask test`: host unit tests, then every QEMU scenario, then one
//! line `N passed, M failed`.
//!
//! Scenarios run one at a time, each from its own bundle under
//! `target/bundles/`, with QEMU's output captured and shown (indented) only
//! when the scenario fails.

use std::process::ExitCode;

use crate::artifacts::{self, Artifacts, Output};
use crate::bundle;
use crate::cli::TestOptions;
use crate::qemu::{self, Accel, AccelChoice, Boot, Ending};
use crate::scenario::Scenario;
use crate::scenarios;
use crate::unit_tests::{self, Tally, print_indented, print_progress};

/// Runs the whole test suite; the exit code is success only without failures.
pub fn run(options: TestOptions) -> Result<ExitCode, String> {
    let qemu = qemu::find()?;
    let accel = Accel::resolve(options.accel.unwrap_or(AccelChoice::Tcg))?;
    let scenarios = selected(options.filter.as_deref())?;

    let mut tally = Tally::default();
    for suite in unit_tests::SUITES {
        tally += unit_tests::run_suite(suite);
    }

    print_progress("build ... ");
    match artifacts::build(options.profile, Output::Capture) {
        Ok(artifacts) => {
            println!("ok");
            for scenario in &scenarios {
                tally += run_scenario(scenario, &artifacts, &qemu, accel);
            }
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

/// The scenarios whose name contains `filter` (all without one).
fn selected(filter: Option<&str>) -> Result<Vec<Scenario>, String> {
    let all = scenarios::all();
    let Some(filter) = filter else {
        return Ok(all);
    };
    let names: Vec<&str> = all.iter().map(|scenario| scenario.name).collect();
    let chosen: Vec<Scenario> = all
        .iter()
        .filter(|scenario| scenario.name.contains(filter))
        .cloned()
        .collect();
    if chosen.is_empty() {
        return Err(format!(
            "no scenario matches `{filter}` (scenarios: {})",
            names.join(", ")
        ));
    }
    Ok(chosen)
}

/// Runs one scenario and prints its result line (and its log on failure).
fn run_scenario(
    scenario: &Scenario,
    artifacts: &Artifacts,
    qemu: &std::path::Path,
    accel: Accel,
) -> Tally {
    print_progress(&format!("scenario {} ... ", scenario.name));
    match boot_and_check(scenario, artifacts, qemu, accel) {
        Ok(()) => {
            println!("ok");
            Tally {
                passed: 1,
                failed: 0,
            }
        }
        Err((reason, log)) => {
            println!("FAILED: {reason}");
            if let Some(log) = log {
                print_indented(&log);
            }
            Tally {
                passed: 0,
                failed: 1,
            }
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
        icount: scenario.icount,
    };
    let mut input = scenario.input.clone();
    input.extend_from_slice(crate::qemu::END_OF_INPUT);
    let captured = boot
        .run_captured_until(scenario.timeout, &input, scenario.kill_on)
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
