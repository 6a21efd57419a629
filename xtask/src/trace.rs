//! `cargo xtask trace`: a run with the hypervisor's tracer on, its dump
//! turned into trace-event JSON and a summary; and the `trace-counts`
//! scenario, which checks a traced run against what its guest is known to
//! have done.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use shared_abi::trace::Kind;

use crate::options::RunOptions;
use crate::scenario::{Guest, ImageSource, Scenario};
use crate::trace_format::{self, Trace};

/// Where the hypervisor's dump goes before it is decoded.
fn dump_path(name: &str) -> PathBuf {
    crate::paths::target_dir().join(format!("{name}.trace.bin"))
}

/// Reads and decodes the dump QEMU saved at `path`.
fn read_dump(path: &Path) -> Result<Trace, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    if bytes.is_empty() {
        return Err(
            "the hypervisor wrote no trace: it writes it when the run ends cleanly, \
             and only if it had memory for the records (see its `trace:` warning; \
             ask for fewer with trace=N, or give QEMU more with --machine-mem)"
                .into(),
        );
    }
    trace_format::decode(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// `cargo xtask trace`.
pub fn run(options: RunOptions, out: Option<PathBuf>) -> Result<ExitCode, String> {
    let out = out.unwrap_or_else(|| crate::paths::target_dir().join("trace.json"));
    check_out(&out)?;
    let dump = dump_path("run");
    let _ = std::fs::remove_file(&dump);
    let print_only = options.print_qemu;
    let code = crate::run::run_traced(options, Some(&dump))?;
    if print_only {
        return Ok(code);
    }
    let trace = read_dump(&dump)?;
    let json = serde_json::to_string(&trace.to_json()).map_err(|e| e.to_string())?;
    std::fs::write(&out, json).map_err(|e| format!("writing {}: {e}", out.display()))?;
    print!("{}", trace.summary());
    println!("wrote {}", out.display());
    Ok(code)
}

/// Refuses an `--out` that could not be written, before anything boots: a
/// directory, or a file in a directory that does not exist.
fn check_out(out: &Path) -> Result<(), String> {
    if out.is_dir() {
        return Err(format!("--out {}: is a directory", out.display()));
    }
    match out.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        Some(parent) if !parent.is_dir() => Err(format!(
            "--out {}: no directory {}",
            out.display(),
            parent.display()
        )),
        _ => Ok(()),
    }
}

/// Name of the scenario.
pub const NAME: &str = "trace-counts";

/// The counts `trace-target` makes (see its source).
const STATUS_CALLS: u64 = 17;
const SENDS: u64 = 5;

/// The scenario: `trace-target` booted traced; [`check`] then reads the
/// trace it left.
pub fn scenario() -> Scenario {
    let mut scenario = Scenario::new(NAME, shared_abi::exit::HvExit::Success);
    scenario.guests.push(Guest {
        name: "traced".into(),
        args: String::new(),
        image: ImageSource::Binary("trace-target"),
        mem: None,
        disk_region: None,
        mode: Default::default(),
        driver: false,
        restart: false,
    });
    scenario.cmdline.push("trace".into());
    scenario
        .expect
        .lines
        .push("trace-target: 17 event_status, 5 event_send, 5 upcalls".into());
    scenario.debugcon = Some(dump_path(NAME));
    scenario.after = Some(check);
    scenario
}

/// Checks, from the JSON, that the traced domain's track holds exactly the
/// `event_status` and `event_send` calls and upcalls `trace-target` made,
/// and that the summary agrees.
fn check(scenario: &Scenario) -> Result<String, String> {
    let dump = scenario
        .debugcon
        .as_deref()
        .ok_or("the scenario keeps no trace")?;
    let trace = read_dump(dump)?;
    let json = trace.to_json();
    let events = json["traceEvents"].as_array().ok_or("no traceEvents")?;
    let domain = *trace
        .names
        .iter()
        .find(|(_, name)| name.as_str() == "traced")
        .ok_or("the trace names no domain 'traced'")?
        .0;
    let count = |name: &str| {
        events
            .iter()
            .filter(|e| e["tid"] == domain && e["name"] == name && e["ph"] != "M")
            .count() as u64
    };
    let checks = [
        ("event_status", count("event_status"), STATUS_CALLS),
        ("event_send", count("event_send"), SENDS),
        ("upcall", count(Kind::Upcall.name()), SENDS),
        ("shutdown", count("shutdown"), 1),
    ];
    for (what, seen, expected) in checks {
        if seen != expected {
            return Err(format!(
                "the trace shows {seen} {what} for the traced domain, not {expected}"
            ));
        }
    }
    let counts = trace.counts();
    let summary_sends = counts
        .get(&domain)
        .and_then(|c| c.get("event_send"))
        .map_or(0, |c| c.0);
    if summary_sends != SENDS {
        return Err(format!(
            "the summary counts {summary_sends} event_send, not {SENDS}"
        ));
    }
    let hypercalls = trace
        .records
        .iter()
        .filter(|r| r.domain == domain && r.kind == Kind::Hypercall)
        .count();
    Ok(format!(
        "{} records, {hypercalls} hypercalls of the traced domain, {STATUS_CALLS} event_status and {SENDS} event_send/upcalls exact",
        trace.records.len()
    ))
}
