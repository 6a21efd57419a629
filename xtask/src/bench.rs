//! `cargo xtask bench`: boots the `bench` guest once, collects the median
//! cycle counts it prints (`bench <metric> <median> <samples>`), relates
//! each figure to its baseline measured in the same boot, prints a table and
//! writes `target/bench.json`. A second boot runs the same workload three
//! ways (paravirtual, trap-and-emulate, patched: [`three_ways`]) and adds
//! their comparison, as its own table.
//!
//! The JSON file is a list of objects with the keys `metric`, `value`,
//! `unit`, `baseline`, `baseline_value`, `ratio` and `accel` (`baseline`,
//! `baseline_value` and `ratio` are `null` for the baselines themselves), so
//! runs can be compared (`--compare OLD.json`).
//!
//! Which mode to trust for what: `--icount` (TCG, one TSC tick per
//! instruction) for the cost of a code path, deterministic from run to run;
//! KVM on bare metal for absolute time; never nested KVM, where every exit
//! costs about a million cycles whatever the path does. Under icount device
//! time is free, so throughput figures mean nothing there: the per-byte and
//! per-request figures are instruction counts.

use std::fmt::Write as _;
use std::process::ExitCode;

use shared_abi::exit::HvExit;

use crate::artifacts::{self, Output, Profile};
use crate::bundle::{self, GuestSpec};
use crate::cli::BenchOptions;
use crate::figure::Figure;
use crate::qemu::{self, Accel, Boot, Ending};
use crate::three_ways;

/// Every figure, its baseline (if any) and the ratio the issues set as a
/// target (a negative limit means "at least" the absolute value).
const FIGURES: [(&str, Option<&str>, Option<f64>); 32] = [
    ("bare_syscall", None, None),
    ("null_hypercall", Some("bare_syscall"), Some(1.5)),
    ("multicall_per_call", Some("null_hypercall"), None),
    ("bare_fault", None, None),
    ("hidden_fault", Some("bare_fault"), Some(3.0)),
    ("reflected_fault", Some("bare_fault"), None),
    ("switch_warm", Some("null_hypercall"), Some(3.0)),
    ("switch_cold", Some("null_hypercall"), None),
    ("user_syscall", Some("null_hypercall"), Some(3.0)),
    ("process_switch", Some("null_hypercall"), None),
    ("event_same_domain", Some("null_hypercall"), Some(4.0)),
    ("upcall_round_trip", Some("null_hypercall"), None),
    (
        "event_cross_domain_round_trip",
        Some("null_hypercall"),
        None,
    ),
    ("timer_lateness_ns", None, None),
    ("timer_jitter_ns", None, None),
    ("uart_raw_bytes_per_s", None, None),
    (
        "console_early_bytes_per_s",
        Some("uart_raw_bytes_per_s"),
        None,
    ),
    ("console_early_cycles_per_byte", None, None),
    (
        "console_served_split_bytes_per_s",
        Some("uart_raw_bytes_per_s"),
        Some(-0.9),
    ),
    (
        "console_served_early_bytes_per_s",
        Some("console_early_bytes_per_s"),
        None,
    ),
    (
        "console_served_split_cycles_per_byte",
        Some("console_early_cycles_per_byte"),
        Some(0.25),
    ),
    (
        "console_served_early_cycles_per_byte",
        Some("console_early_cycles_per_byte"),
        None,
    ),
    ("guest_table_bytes", None, None),
    ("shadow_table_bytes", Some("guest_table_bytes"), None),
    ("block_driver_direct_seq_mb_per_s", None, None),
    (
        "block_backend_seq_mb_per_s",
        Some("block_driver_direct_seq_mb_per_s"),
        Some(-0.9),
    ),
    ("block_driver_direct_rand_iops", None, None),
    (
        "block_backend_rand_iops",
        Some("block_driver_direct_rand_iops"),
        Some(-0.7),
    ),
    ("block_driver_direct_rand_cycles_per_request", None, None),
    (
        "block_backend_rand_cycles_per_request",
        Some("block_driver_direct_rand_cycles_per_request"),
        None,
    ),
    ("block_driver_direct_seq_3_in_flight_mb_per_s", None, None),
    (
        "block_backend_seq_3_in_flight_mb_per_s",
        Some("block_driver_direct_seq_3_in_flight_mb_per_s"),
        None,
    ),
];

/// The guest whose shadow tables `shadow_table_bytes` reports.
const BENCH_GUEST: &str = "bench";

/// The unit of a metric under `accel`: nanoseconds for the `_ns` ones,
/// throughputs, else cycles (instructions under icount).
fn unit(metric: &str, accel: Accel) -> &'static str {
    if metric.ends_with("_ns") {
        "ns"
    } else if metric.ends_with("_mb_per_s") {
        "MB/s"
    } else if metric.ends_with("_iops") {
        "IOPS"
    } else if metric.ends_with("_bytes_per_s") {
        "B/s"
    } else if metric.ends_with("_bytes") {
        "bytes"
    } else if accel == Accel::TcgIcount {
        "instructions"
    } else {
        "cycles"
    }
}

/// Runs the bench guest and reports.
pub fn run(options: BenchOptions) -> Result<ExitCode, String> {
    // Read before anything boots, and before this run's bench.json
    // replaces it (it may be the file named).
    let previous = options.compare.as_deref().map(read_previous).transpose()?;
    let qemu = qemu::find()?;
    let accel = match options.icount {
        true => Accel::TcgIcount,
        false => Accel::resolve(options.accel)?,
    };
    let artifacts = artifacts::build(Profile::Release, Output::Capture)?;
    let bundle_path = crate::paths::target_dir()
        .join("bundles")
        .join("bench.bundle");
    let guests = [
        GuestSpec {
            name: "bench".into(),
            args: String::new(),
            image: artifacts.read_guest("bench")?.into(),
            ..GuestSpec::default()
        },
        GuestSpec {
            name: "echo".into(),
            args: "role=pong peer=bench rounds=2000".into(),
            image: artifacts.read_guest("ping-pong")?.into(),
            ..GuestSpec::default()
        },
    ];
    bundle::write(&bundle_path, &guests)?;
    let boot = Boot {
        qemu,
        hypervisor: artifacts.hypervisor(),
        bundle: bundle_path,
        cmdline: if options.trace {
            vec!["hv_bench".into(), "trace".into()]
        } else {
            vec!["hv_bench".into()]
        },
        accel,
        disk: None,
        memory: crate::qemu::DEFAULT_MACHINE_MEMORY,
        icount: None,
        debugcon: options
            .trace
            .then(|| crate::paths::target_dir().join("bench.trace.bin")),
        debug: None,
    };
    eprintln!("bench: booting under {} ...", accel.label());
    let mut figures = boot_figures(&boot, options.timeout, "the bench guest")?;
    let workload = artifacts.read_guest("workload")?.into();
    eprintln!("bench: booting the workload three ways ...");
    figures.extend(side_boot(
        &boot,
        "three-ways",
        &three_ways::guests(workload),
        None,
        options.timeout,
        "the workload",
    )?);
    eprintln!("bench: booting the console served by the driver domain ...");
    figures.extend(console_server_figures(&artifacts, &boot, options.timeout)?);
    eprintln!("bench: booting the driver domain's block backend ...");
    // Its throughputs are in wall time; under icount virtual time follows
    // instructions, not the disk, so they would mean nothing there: only
    // the instructions per request are measured.
    if accel == Accel::TcgIcount {
        eprintln!(
            "bench: the driver domain's throughput figures need wall time: skipped under --icount"
        );
    }
    figures.extend(driver_figures(&artifacts, &boot, options.timeout)?);
    print!("{}", table(&figures, accel));
    print!("{}", three_ways::table(&figures, accel));
    let path = crate::paths::target_dir().join("bench.json");
    std::fs::write(&path, json(&figures, accel))
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    if let Some(previous) = previous {
        print!("{}", comparison(&previous, &figures));
    }
    Ok(ExitCode::SUCCESS)
}

/// The figures of the bench.json at `old` (`--compare`).
fn read_previous(old: &std::path::Path) -> Result<Vec<(String, u64)>, String> {
    let bytes = crate::input_file::read_regular(old, crate::input_file::MAX_CONFIG_BYTES)
        .map_err(|why| format!("--compare {}: {why}", old.display()))?;
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(read_json)
        .ok_or_else(|| format!("{} is not a bench.json this tool wrote", old.display()))
}

/// The console figures with the driver domain running the terminal
/// (`serve=console`): the split console, whose rings only a console
/// server takes, and the early console through the feed and the ring 3
/// UART.
fn console_server_figures(
    artifacts: &artifacts::Artifacts,
    like: &Boot,
    timeout: std::time::Duration,
) -> Result<Vec<Figure>, String> {
    let guests = [
        GuestSpec {
            name: "bench".into(),
            args: "only=console".into(),
            image: artifacts.read_guest("bench")?.into(),
            ..GuestSpec::default()
        },
        crate::default_driver::spec(artifacts, &[], false)?,
    ];
    side_boot(
        like,
        "console-server-bench",
        &guests,
        None,
        timeout,
        "the console server's bench",
    )
}

/// The driver domain's direct figures and the same workloads from a
/// frontend through its block backend.
fn driver_figures(
    artifacts: &artifacts::Artifacts,
    like: &Boot,
    timeout: std::time::Duration,
) -> Result<Vec<Figure>, String> {
    // Under icount only the instructions per request (`measure=requests`,
    // `mode=requests`), else the throughputs too.
    let (measure, mode) = match like.accel {
        Accel::TcgIcount => ("requests", "requests"),
        _ => ("yes", "bench"),
    };
    let guests = [
        GuestSpec {
            name: "driver".into(),
            args: format!("serve=block measure={measure} clients=1"),
            image: artifacts.read_guest("driver")?.into(),
            extras: shared_abi::bundle::EntryExtras {
                driver: true,
                ..Default::default()
            },
        },
        GuestSpec {
            name: "front".into(),
            args: format!("mode={mode}"),
            image: artifacts.read_guest("blockfront")?.into(),
            ..GuestSpec::default()
        },
    ];
    let disk = crate::paths::disks().join("driver-bench.img");
    crate::disk_image::zeroed(&disk, 16)?;
    side_boot(
        like,
        "driver-bench",
        &guests,
        Some(disk),
        timeout,
        "the driver domain's bench",
    )
}

/// Boots `guests` (bundled as `target/bundles/NAME.bundle`) with `disk`,
/// as `like` boots but without its command line, trace or debugger, and
/// collects the figures; `what` names the boot when it fails.
fn side_boot(
    like: &Boot,
    name: &str,
    guests: &[GuestSpec],
    disk: Option<std::path::PathBuf>,
    timeout: std::time::Duration,
    what: &str,
) -> Result<Vec<Figure>, String> {
    let path = crate::paths::target_dir()
        .join("bundles")
        .join(format!("{name}.bundle"));
    bundle::write(&path, guests)?;
    let boot = Boot {
        bundle: path,
        cmdline: Vec::new(),
        disk,
        debugcon: None,
        debug: None,
        ..like.clone()
    };
    boot_figures(&boot, timeout, what)
}

/// Boots `boot` and collects its figures; `what` names it when it fails.
fn boot_figures(
    boot: &Boot,
    timeout: std::time::Duration,
    what: &str,
) -> Result<Vec<Figure>, String> {
    let captured = boot.run_captured(timeout)?;
    let succeeded = matches!(
        captured.ending,
        Ending::Exited(status) if status.code().and_then(HvExit::from_qemu_status) == Some(HvExit::Success)
    );
    if !succeeded {
        return Err(format!(
            "{what} did not finish:\n{}{}",
            captured.serial, captured.stderr
        ));
    }
    Ok(parse(&captured.serial))
}

/// Extracts `bench <metric> <median> <samples>` lines from the serial log,
/// and `shadow_table_bytes` from the hypervisor's report of the bench
/// guest's shadow tables at exit (`domain N 'bench': B shadow table bytes
/// at exit`).
pub fn parse(serial: &str) -> Vec<Figure> {
    let shadow_tables = serial.lines().find_map(|line| {
        let rest = line.split_once("hv: domain ")?.1;
        let rest = rest.split_once(&format!(" '{BENCH_GUEST}': "))?.1;
        let bytes = rest.strip_suffix(" shadow table bytes at exit")?;
        Some(Figure {
            metric: "shadow_table_bytes".into(),
            value: bytes.trim().parse().ok()?,
            samples: 1,
        })
    });
    serial
        .lines()
        .filter_map(|line| {
            let rest = line
                .split_once("] bench ")
                .or_else(|| line.split_once("hv: bench "))?
                .1;
            let mut words = rest.split_whitespace();
            let metric = words.next()?.to_string();
            let value = words.next()?.parse().ok()?;
            let samples = words.next()?.parse().ok()?;
            Some(Figure {
                metric,
                value,
                samples,
            })
        })
        .chain(shadow_tables)
        .collect()
}

fn value_of(figures: &[Figure], metric: &str) -> Option<u64> {
    figures.iter().find(|f| f.metric == metric).map(|f| f.value)
}

/// Ratio of `metric` to its baseline, if both were measured.
fn ratio(figures: &[Figure], metric: &str, baseline: Option<&str>) -> Option<f64> {
    let base = value_of(figures, baseline?)?;
    let value = value_of(figures, metric)?;
    (base > 0).then(|| value as f64 / base as f64)
}

/// The human-readable table.
pub fn table(figures: &[Figure], accel: Accel) -> String {
    let mut out = format!(
        "{:<30} {:>12} {:>6} {:>8}  {:<16} {:>7}  target\n",
        "metric", "value", "unit", "samples", "baseline", "ratio"
    );
    for (metric, baseline, target) in FIGURES {
        let Some(figure) = figures.iter().find(|f| f.metric == metric) else {
            let _ = writeln!(out, "{metric:<30} {:>12}", "missing");
            continue;
        };
        let measured = ratio(figures, metric, baseline);
        let shown = measured.map_or("-".to_string(), |r| format!("{r:.2}"));
        let target = match (target, measured) {
            (Some(limit), Some(r)) if limit < 0.0 && r >= -limit => format!(">= {} met", -limit),
            (Some(limit), Some(_)) if limit < 0.0 => format!(">= {} NOT met", -limit),
            (Some(limit), Some(r)) if r <= limit => format!("<= {limit} met"),
            (Some(limit), Some(_)) => format!("<= {limit} NOT met"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{metric:<30} {:>12} {:>6} {:>8}  {:<16} {shown:>7}  {target}",
            figure.value,
            unit(metric, accel),
            figure.samples,
            baseline.unwrap_or("-"),
        );
    }
    let _ = writeln!(out, "(medians, one boot, accel {})", accel.label());
    out
}

/// Reads the `metric` and `value` of each line of a `bench.json` written
/// by [`json`]; `None` if no line has them.
pub fn read_json(text: &str) -> Option<Vec<(String, u64)>> {
    let field = |line: &str, key: &str| -> Option<String> {
        let rest = &line[line.find(key)? + key.len()..];
        let end = rest.find([',', '"', '}'])?;
        Some(rest[..end].trim().to_string())
    };
    let figures: Vec<(String, u64)> = text
        .lines()
        .filter_map(|line| {
            let metric = field(line, "\"metric\": \"")?;
            let value = field(line, "\"value\": ")?.parse().ok()?;
            Some((metric, value))
        })
        .collect();
    (!figures.is_empty()).then_some(figures)
}

/// Old, new and the change of every figure measured in both runs.
pub fn comparison(old: &[(String, u64)], new: &[Figure]) -> String {
    let mut out = format!(
        "{:<40} {:>12} {:>12} {:>9}\n",
        "metric", "old", "new", "change"
    );
    for figure in new {
        let Some((_, before)) = old.iter().find(|(metric, _)| *metric == figure.metric) else {
            continue;
        };
        let change = match *before {
            0 => "-".to_string(),
            before => format!(
                "{:+.1}%",
                (figure.value as f64 / before as f64 - 1.0) * 100.0
            ),
        };
        let _ = writeln!(
            out,
            "{:<40} {before:>12} {:>12} {change:>9}",
            figure.metric, figure.value
        );
    }
    out
}

/// Every figure the JSON file may hold, with its baseline: the table's,
/// then the comparison of the three techniques.
fn json_metrics() -> Vec<(String, Option<String>)> {
    FIGURES
        .iter()
        .map(|&(metric, baseline, _)| (metric.to_string(), baseline.map(str::to_string)))
        .chain(three_ways::metrics())
        .collect()
}

/// The JSON file's contents.
pub fn json(figures: &[Figure], accel: Accel) -> String {
    let entries: Vec<String> = json_metrics()
        .iter()
        .filter_map(|(metric, baseline)| {
            let value = value_of(figures, metric)?;
            let (baseline_name, baseline_value, ratio) = match baseline.as_deref() {
                Some(name) => (
                    format!("\"{name}\""),
                    value_of(figures, name).map_or("null".into(), |v| v.to_string()),
                    ratio(figures, metric, Some(name)).map_or("null".into(), |r| format!("{r:.3}")),
                ),
                None => ("null".into(), "null".into(), "null".into()),
            };
            Some(format!(
                "  {{\"metric\": \"{metric}\", \"value\": {value}, \"unit\": \"{}\", \"baseline\": {baseline_name}, \"baseline_value\": {baseline_value}, \"ratio\": {ratio}, \"accel\": \"{}\"}}",
                unit(metric, accel),
                accel.label()
            ))
        })
        .collect();
    format!("[\n{}\n]\n", entries.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "hv: x\n[bench] bench null_hypercall 100 2000\n[bench] bench bare_fault 200 2000\n\
        [bench] bench hidden_fault 500 4000\n[bench] bench switch_warm 400 2000\n[bench] done\n";

    #[test]
    fn shadow_tables_come_from_the_bench_guests_exit_report() {
        let log = "hv: domain 2 'echo': 16384 shadow table bytes at exit\n\
            [bench] bench guest_table_bytes 40960 1\n\
            hv: domain 1 'bench': 122880 shadow table bytes at exit\n";
        let figures = parse(log);
        assert_eq!(value_of(&figures, "shadow_table_bytes"), Some(122880));
        assert_eq!(
            ratio(&figures, "shadow_table_bytes", Some("guest_table_bytes")),
            Some(3.0)
        );
        assert!(table(&figures, Accel::TcgIcount).contains("bytes"));
        assert_eq!(value_of(&parse(LOG), "shadow_table_bytes"), None);
    }

    #[test]
    fn parses_figures_and_ignores_other_lines() {
        let figures = parse(LOG);
        assert_eq!(figures.len(), 4);
        assert_eq!(
            figures[2],
            Figure {
                metric: "hidden_fault".into(),
                value: 500,
                samples: 4000
            }
        );
    }

    #[test]
    fn ratios_targets_and_json() {
        let figures = parse(LOG);
        assert_eq!(
            ratio(&figures, "hidden_fault", Some("bare_fault")),
            Some(2.5)
        );
        let table = table(&figures, Accel::Tcg);
        assert!(table.contains("<= 3 met"), "{table}");
        assert!(
            table.contains("switch_warm") && table.contains("NOT met"),
            "{table}"
        );
        let json = json(&figures, Accel::Kvm);
        assert!(json.contains("{\"metric\": \"hidden_fault\", \"value\": 500, \"unit\": \"cycles\", \"baseline\": \"bare_fault\", \"baseline_value\": 200, \"ratio\": 2.500, \"accel\": \"kvm\"}"));
        assert!(json.contains(
            "\"metric\": \"bare_fault\", \"value\": 200, \"unit\": \"cycles\", \"baseline\": null"
        ));
        assert!(
            !json.contains("reflected_fault"),
            "unmeasured figures are left out"
        );
        let icount = super::json(&figures, Accel::TcgIcount);
        assert!(icount.contains("\"unit\": \"instructions\""), "{icount}");
        assert!(icount.contains("\"accel\": \"tcg-icount\""), "{icount}");
    }

    #[test]
    fn the_driver_domains_figures_relate_to_the_direct_ones() {
        let log = "[front] bench block_backend_rand_cycles_per_request 11689 64\n\
            [driver] bench block_driver_direct_rand_cycles_per_request 4280 64\n\
            [driver] bench block_driver_direct_seq_mb_per_s 584 16\n\
            [front] bench block_backend_seq_mb_per_s 305 16\n";
        let figures = parse(log);
        let baseline = |metric: &str| {
            FIGURES
                .iter()
                .find(|(name, _, _)| *name == metric)
                .and_then(|(_, baseline, _)| *baseline)
        };
        let per_request = "block_backend_rand_cycles_per_request";
        assert_eq!(
            baseline(per_request),
            Some("block_driver_direct_rand_cycles_per_request")
        );
        let measured = ratio(&figures, per_request, baseline(per_request)).unwrap();
        assert!((measured - 11689.0 / 4280.0).abs() < 1e-9);
        let table = table(&figures, Accel::TcgIcount);
        assert!(table.contains("11689 instructions"), "{table}");
        assert!(table.contains(">= 0.9 NOT met"), "{table}");
    }

    #[test]
    fn compares_with_a_previous_run() {
        let figures = parse(LOG);
        let old = read_json(&json(&figures, Accel::TcgIcount)).unwrap();
        assert_eq!(old[0], ("null_hypercall".to_string(), 100));
        let new = [Figure {
            metric: "null_hypercall".into(),
            value: 50,
            samples: 1,
        }];
        let table = comparison(&old, &new);
        assert!(
            table.contains("null_hypercall") && table.contains("-50.0%"),
            "{table}"
        );
        assert_eq!(read_json("not json"), None);
    }
}
