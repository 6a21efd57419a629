//! `cargo xtask test`: host unit tests, then every QEMU scenario, then one
//! line `N passed, M failed`.
//!
//! Scenarios run one at a time, each from its own bundle under
//! `target/bundles/`, with QEMU's output captured and shown (indented) only
//! when the scenario fails. Long scenarios run only with `--long`. With
//! `--repeat N` the selected scenarios run N times in order (so scenarios
//! that read a disk an earlier one wrote keep their order), and a scenario
//! counts as passed only if all N runs passed: a flake is a failure.
//!
//! With `--guest`/`--config`, the user's guests boot together as one
//! scenario, `guests`, through the same harness: it expects QEMU to exit
//! with success, every domain to shut down with code 0 and every
//! `--expect` text in some line, within the timeout.

use std::process::ExitCode;

use shared_abi::exit::HvExit;

use crate::artifacts::{self, Artifacts, Output};
use crate::cli::TestOptions;
use crate::crash_trials;
use crate::qemu::{self, Accel, AccelChoice};
use crate::run::Plan;
use crate::scenario::Scenario;
use crate::scenario_boot::{boot_and_check, boot_scenario};
use crate::scenarios;
use crate::unit_tests::{self, Tally, print_indented, print_progress};

/// Runs the whole test suite; the exit code is success only without failures.
pub fn run(options: TestOptions) -> Result<ExitCode, String> {
    let qemu = qemu::find()?;
    let accel = Accel::resolve(options.accel.unwrap_or(AccelChoice::Tcg))?;
    if !options.guests.is_empty() {
        return user_guests(&options, &qemu, accel);
    }
    let tiers: Vec<&Tier> = TIERS
        .iter()
        .filter(|(name, _)| options.filter.as_deref().is_none_or(|f| name.contains(f)))
        .collect();
    let items = selected(options.filter.as_deref(), options.long, !tiers.is_empty())?;

    let mut tally = Tally::default();
    for suite in unit_tests::SUITES {
        tally += unit_tests::run_suite(suite);
    }

    print_progress("build ... ");
    match artifacts::build(options.profile, Output::Capture) {
        Ok(artifacts) => {
            println!("ok");
            for (_, tier) in tiers {
                tally += tier(&artifacts);
            }
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

/// `cargo xtask test --guest ...`: the user's guests as one scenario.
fn user_guests(
    options: &TestOptions,
    qemu: &std::path::Path,
    accel: Accel,
) -> Result<ExitCode, String> {
    let guests = options.guests.resolve()?;
    let default_mem = hypervisor::cmdline::DEFAULT_DOMAIN_MEMORY;
    // Refuse bad guests before spending time on a build.
    crate::guest_check::prepare(&guests, default_mem)?;
    let mut scenario = Scenario::new("guests", HvExit::Success);
    scenario.expect.forbidden.clear();
    if let Some(timeout) = options.timeout {
        scenario = scenario.timeout(timeout);
    }
    for text in &options.expect {
        scenario = scenario.line(text);
    }
    print_progress("build ... ");
    let artifacts =
        artifacts::build(options.profile, Output::Capture).inspect_err(|_| println!("FAILED"))?;
    println!("ok");
    let plan = Plan::user_guests(&guests, default_mem, "test-guests")?.with_driver(
        &artifacts,
        options.no_driver,
        default_mem,
    )?;
    for spec in &plan.specs {
        scenario = scenario.line(&format!("'{}' shut down with code 0", spec.name));
    }
    print_progress(&format!("scenario {} ... ", scenario.name));
    let result = boot_and_check(
        &scenario,
        &plan.specs,
        plan.disk.clone(),
        &plan.memory,
        &artifacts,
        qemu,
        accel,
    );
    if let Some(disk) = &plan.user_disk {
        disk.copy_back()?;
    }
    let tally = report(result.map(drop));
    println!("{} passed, {} failed", tally.passed, tally.failed);
    Ok(if tally.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A tier of checks that runs `cargo xtask run` itself, by the name
/// `--filter` selects it with.
type Tier = (&'static str, fn(&Artifacts) -> Tally);

/// The tiers run before the scenarios.
const TIERS: [Tier; 2] = [
    ("bad-input", crate::bad_input::run),
    ("run-outcomes", crate::run_checks::run),
];

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

/// The tests whose name contains `filter` (all without one); long ones
/// only when `long`. No match is an error unless the filter `also`
/// selected something else.
fn selected(filter: Option<&str>, long: bool, also: bool) -> Result<Vec<Item>, String> {
    let all: Vec<Item> = scenarios::all()
        .into_iter()
        .filter(|scenario| long || !scenario.long)
        .map(|scenario| Item::Scenario(Box::new(scenario)))
        .chain([Item::CrashTrials])
        .collect();
    let Some(filter) = filter else {
        return Ok(all);
    };
    let names: Vec<&str> = all.iter().map(Item::name).collect();
    let names = names.join(", ");
    let chosen: Vec<Item> = all
        .into_iter()
        .filter(|item| item.name().contains(filter))
        .collect();
    if chosen.is_empty() && !also {
        return Err(format!(
            "no scenario matches `{filter}` (scenarios: {names})"
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
    match item {
        Item::Scenario(scenario) => run_scenario(scenario, artifacts, qemu, accel).failed == 0,
        Item::CrashTrials => {
            print_progress(&format!("scenario {} ... ", crash_trials::NAME));
            match crash_trials::run(artifacts, qemu, accel) {
                Ok(summary) => {
                    println!("ok: {summary}");
                    true
                }
                Err(failure) => report(Err(failure)).failed == 0,
            }
        }
    }
}

/// Runs one scenario and prints its result line (and its log on failure).
fn run_scenario(
    scenario: &Scenario,
    artifacts: &Artifacts,
    qemu: &std::path::Path,
    accel: Accel,
) -> Tally {
    print_progress(&format!("scenario {} ... ", scenario.name));
    let booted = boot_scenario(scenario, artifacts, qemu, accel).map(drop);
    match (booted, scenario.after) {
        (Ok(()), Some(after)) => match after(scenario) {
            Ok(summary) => {
                println!("ok: {summary}");
                Tally {
                    passed: 1,
                    failed: 0,
                }
            }
            Err(failure) => report(Err((failure, None))),
        },
        (booted, _) => report(booted),
    }
}

/// Prints a scenario's result line (and its log on failure) and counts it.
fn report(result: Result<(), (String, Option<String>)>) -> Tally {
    match result {
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
