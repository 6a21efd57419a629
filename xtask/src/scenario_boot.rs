//! Booting one scenario and checking what it printed: its bundle written,
//! QEMU run with its input (and gdb sessions, when it has them) until it
//! exits, times out or is killed, and its expectations held against the
//! serial log.

use std::path::PathBuf;
use std::time::Duration;

use crate::artifacts::Artifacts;
use crate::bundle::{self, GuestSpec};
use crate::qemu::{self, Accel, Boot, DebugLink, Ending};
use crate::scenario::Scenario;

/// Boots a scenario of the table (its guests, disk and memory) and checks
/// it; its serial log on success, the reason (and the log, when QEMU ran)
/// on failure.
pub fn boot_scenario(
    scenario: &Scenario,
    artifacts: &Artifacts,
    qemu: &std::path::Path,
    accel: Accel,
) -> Result<String, (String, Option<String>)> {
    let specs = scenario
        .guest_specs(artifacts)
        .map_err(|error| (error, None))?;
    let disk = scenario.disk_image()?;
    let memory = scenario.domain_memory();
    boot_and_check(scenario, &specs, disk, &memory, artifacts, qemu, accel)
}

/// Boots `scenario` with the domains `specs` (of `memory` bytes each);
/// on failure returns the reason and, when QEMU ran, its output.
pub fn boot_and_check(
    scenario: &Scenario,
    specs: &[GuestSpec],
    disk: Option<PathBuf>,
    memory: &[u64],
    artifacts: &Artifacts,
    qemu: &std::path::Path,
    accel: Accel,
) -> Result<String, (String, Option<String>)> {
    let bundle_path = crate::paths::target_dir()
        .join("bundles")
        .join(format!("{}.bundle", scenario.name));
    let bytes = bundle::encode(specs).map_err(|error| (error, None))?;
    bundle::write_bytes(&bundle_path, &bytes).map_err(|error| (error, None))?;
    let memory =
        hypervisor::memory_budget::machine_memory(memory.iter().copied(), bytes.len() as u64)
            .ok_or((
                "the domains need more memory than a machine has".to_string(),
                None,
            ))?
            .max(crate::qemu::DEFAULT_MACHINE_MEMORY);
    let mut boot = Boot {
        qemu: qemu.to_path_buf(),
        hypervisor: artifacts.hypervisor(),
        bundle: bundle_path,
        cmdline: scenario.cmdline.clone(),
        accel,
        disk,
        memory,
        icount: scenario.icount,
        debugcon: scenario.debugcon.clone(),
        debug: None,
    };
    let mut input = scenario.input.clone();
    // A boot that is killed gets no end of input: the kill ends it (a
    // guest seeing the end would shut down on its own, racing the kill).
    if scenario.kill_on.is_none() {
        input.extend_from_slice(crate::qemu::END_OF_INPUT);
    }
    let kill_on = scenario.kill_on.map(|pattern| (pattern, Duration::ZERO));
    let run = |boot: &Boot| {
        boot.run_captured_until(
            scenario.timeout,
            &input,
            scenario.input_after,
            kill_on,
            scenario.pace,
        )
    };
    let (captured, debugged) = match &scenario.debugging {
        None => (run(&boot), None),
        Some(debugging) => {
            let port = qemu::free_port().map_err(|error| (error, None))?;
            let symbols = match debugging.domain {
                Some(domain) => {
                    boot.cmdline.push(format!("gdb={domain}"));
                    boot.debug = Some(DebugLink::Domain { port });
                    artifacts.guest(debugging.symbols)
                }
                None => {
                    boot.debug = Some(DebugLink::Hypervisor { port });
                    artifacts.hypervisor()
                }
            };
            let (captured, transcript, result) =
                crate::gdb_scenario::run(debugging, port, &symbols, || run(&boot));
            (captured, Some((transcript, result)))
        }
    };
    let captured = captured.map_err(|error| (error, None))?;
    let mut log = captured.serial.clone();
    if !captured.stderr.trim().is_empty() {
        if !log.is_empty() && !log.ends_with('\n') {
            log.push('\n');
        }
        log.push_str("--- qemu stderr ---\n");
        log.push_str(&captured.stderr);
    }
    if let Some((transcript, result)) = debugged {
        if !log.is_empty() && !log.ends_with('\n') {
            log.push('\n');
        }
        log.push_str(&transcript);
        result.map_err(|reason| (reason, Some(log.clone())))?;
    }
    match captured.ending {
        Ending::TimedOut(timeout) => {
            let (domains, _) = crate::run_report::read(&captured.serial);
            let running: Vec<String> = domains
                .iter()
                .filter(|domain| domain.outcome == crate::run_report::Outcome::Running)
                .map(|domain| format!("{} '{}'", domain.id, domain.name))
                .collect();
            let reason = match running.len() {
                0 => format!("timed out after {}s", timeout.as_secs()),
                _ => format!(
                    "timed out after {}s with domain(s) {} still running",
                    timeout.as_secs(),
                    running.join(", ")
                ),
            };
            Err((reason, Some(log)))
        }
        Ending::Exited(status) => scenario
            .expect
            .check(status.code(), &captured.serial)
            .map(|()| captured.serial)
            .map_err(|reason| (reason, Some(log))),
        Ending::Killed => scenario
            .expect
            .check(None, &captured.serial)
            .map(|()| captured.serial)
            .map_err(|reason| (reason, Some(log))),
    }
}
