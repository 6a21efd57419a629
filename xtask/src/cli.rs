//! Command-line parsing for `cargo xtask`.
//!
//! [`parse`] picks the subcommand and hands the rest to that subcommand's
//! own function (`parse_run`, `parse_test`, ...), which knows its options
//! and its `--help` text. Options take their value either as the next word
//! (`--accel tcg`) or after an equals sign (`--accel=tcg`).

use std::path::PathBuf;
use std::time::Duration;

use crate::artifacts::Profile;
use crate::fuzz::FuzzOptions;
use crate::gdb::{self, GdbOptions};
use crate::guest_spec;
use crate::options::{
    GuestSource, RunOptions, Words, parse_accel, parse_seconds, run_option, unknown,
};
use crate::qemu::AccelChoice;

/// `cargo xtask --help`: the overview.
pub const USAGE: &str = "\
Build, run and test the microhypervisor under QEMU.

Usage:
  cargo xtask build [--debug]
  cargo xtask run   [OPTIONS] [-- HYPERVISOR-CMDLINE-WORDS...]
  cargo xtask test  [OPTIONS]
  cargo xtask bench [OPTIONS]
  cargo xtask trace [--out FILE] [RUN-OPTIONS] [-- HYPERVISOR-CMDLINE-WORDS...]
  cargo xtask fuzz  [OPTIONS]
  cargo xtask gdb   [--domain NAME|ID | --hypervisor] [--no-attach] [OPTIONS]
  cargo xtask new-guest DIR
  cargo xtask COMMAND --help     the options of COMMAND

Commands:
  build   Build the hypervisor and the guest binaries for x86_64-unknown-none.
  run     Boot the default guests, or your own (--guest, --config), with the
          serial console on this terminal; exit 0 only if every domain shut
          down with code 0.
  test    Run the host unit tests, then the QEMU scenarios (or your own guests
          as a scenario, --guest), and print `N passed, M failed`.
  bench   Boot the bench guest, print median cycle counts and ratios, and
          write target/bench.json (--icount: instruction counts).
  trace   Boot as `run` does with the hypervisor's tracer on, write the
          trace as Chrome/Perfetto trace-event JSON (default
          target/trace.json) and print a summary per domain.
  fuzz    Boot the hypercall fuzzer next to a guest that measures its CPU
          share; exit 0 only when clean, else print the seed and the
          command that reproduces the run.
  gdb     Boot as `run` does with a domain (or the hypervisor) held for a
          debugger, and start gdb on it with its symbols.
  new-guest  Create a guest kernel crate in DIR (new or empty), named after
          DIR's last component, on this checkout's shared-abi runtime;
          `cargo build --release` in DIR builds it.
";

/// `cargo xtask build --help`.
pub const BUILD_USAGE: &str = "\
Usage: cargo xtask build [--debug]

Build the hypervisor and every guest binary and print their paths.

Options:
  --debug   Use the debug profile instead of release.
";

/// `cargo xtask new-guest --help`.
pub const NEW_GUEST_USAGE: &str = "\
Usage: cargo xtask new-guest DIR

Create a guest kernel crate in DIR (new or empty), named after DIR's last
component, that depends on this checkout's shared-abi runtime: a
Cargo.toml, a src/main.rs that prints a line and shuts down, and the
build configuration (.cargo/config.toml, rust-toolchain.toml) for the
bare-metal target. `cargo build --release` in DIR builds it; the
command prints how to boot it.
";

/// `cargo xtask run --help`.
pub const RUN_USAGE: &str = "\
Usage: cargo xtask run [OPTIONS] [-- HYPERVISOR-CMDLINE-WORDS...]

Build and boot QEMU with the serial console on this terminal. Without
--guest or --config, two `guest-kernel` domains (alpha, beta) boot.

Options:
  --guest PATH[,name=NAME][,mem=SIZE][,count=N][,mode=MODE][,disk=IMAGE][,driver=yes|no][,restart=yes|no][,args=STRING]
                         Boot the ELF image at PATH (repeatable). name: the
                         domain name (default: the file name); mem: its memory
                         (1M..4G); count=N: N domains NAME-1..NAME-N (1..1024);
                         mode: pv (default), emulate (privileged instructions
                         trap and are emulated) or patch (and are patched);
                         restart=yes: restarted (up to 3 times) when the
                         hypervisor stops it (a fault, an expired watchdog);
                         args: its argument string (takes the rest of the
                         option, so it comes last); disk: a raw image (whole
                         512-byte sectors) that is its disk, written back when
                         QEMU ends; driver=yes: the driver domain (at most
                         one), given the physical disk (the others' disk=
                         images) to drive itself, with no disk= of its own.
                         Without one, a driver domain serving the block
                         backend is added as the last domain whenever a disk
                         is attached.
  --config FILE.toml     The same as [[guest]] tables with the keys path, name,
                         mem, count, mode, args, disk, driver, restart.
  --mem-per-domain SIZE  Memory of domains that do not say (1M..4G; default 16M).
  --machine-mem SIZE     QEMU's memory (default: what the domains need).
  --timeout SECS         End the run after SECS seconds, naming the domains
                         still running.
  --no-driver            Do not add the driver domain (the disk then has no
                         backend: block requests fail with NoBackend).
  --print-qemu           Print the QEMU command line instead of running it.
  --accel auto|kvm|tcg   Accelerator (default auto: KVM when /dev/kvm is usable).
  --debug                Use the debug profile instead of release.

Exit status: 0 when every domain shut down with code 0; otherwise one line
per domain that did not, and 1 (a domain failed), 2 (hypervisor fault),
3 (no domain could start), 124 (timed out) or 125 (QEMU ended otherwise).
";

/// `cargo xtask test --help`.
pub const TEST_USAGE: &str = "\
Usage: cargo xtask test [OPTIONS]

Run the host unit tests and the QEMU scenarios (TCG unless --accel says
otherwise), and print `N passed, M failed`. With --guest or --config, boot
your guests instead, together, as one scenario: it passes when QEMU exits
cleanly, every domain shuts down with code 0 and every --expect text
appears in some line of the output.

Options:
  --guest PATH[,...]     A guest of yours (as for `run`; repeatable).
  --config FILE.toml     Guests as [[guest]] tables (as for `run`).
  --expect TEXT          A line of the output must contain TEXT (repeatable).
  --no-driver            Boot your guests without the driver domain added
                         when a disk is attached (as for `run`).
  --timeout SECS         Time limit of your guests' scenario (default 30;
                         the built-in ones have their own).
  --filter SUBSTR        Only the built-in scenarios whose name contains
                         SUBSTR.
  --repeat N             Run the selected built-in scenarios N times (1 to
                         1000); a scenario passes only if every run passed.
  --long                 Also the long built-in scenarios (1,024 domains).
  --accel auto|kvm|tcg   Accelerator (default tcg).
  --debug                Use the debug profile instead of release.
";

/// `cargo xtask trace --help`.
pub const TRACE_USAGE: &str = "\
Usage: cargo xtask trace [--out FILE] [RUN-OPTIONS] [-- HYPERVISOR-CMDLINE-WORDS...]

Boot exactly as `cargo xtask run` does (same options: --guest, --config,
--accel, --timeout, ...) with the hypervisor's tracer on. When the run
ends the hypervisor writes what it recorded (hypercalls, exits by kind,
shadow fills, reflected exceptions, upcalls, switches,
with TSC timestamps) to QEMU's debug console; this writes it as
Chrome/Perfetto trace-event JSON, one track per domain and one for the
hypervisor, and prints each domain's events by count and time.

Options:
  --out FILE   Where the JSON goes (default target/trace.json).
  -- trace=N   Keep up to N records (default 262144; later ones are
               counted, not kept).
";

/// `cargo xtask bench --help`.
pub const BENCH_USAGE: &str = "\
Usage: cargo xtask bench [--accel auto|kvm|tcg | --icount] [--timeout SECS]
                         [--compare OLD.json] [--trace]

Boot the bench guest (KVM when available), print a table of median cycle
counts and ratios, then boot the same workload paravirtualized, trapped and
emulated, and patched, print their comparison, and write target/bench.json.

Options:
  --accel auto|kvm|tcg   Accelerator (default auto).
  --icount               Count instructions instead (TCG with -icount
                         shift=0,sleep=off): deterministic, the figure to
                         optimise code paths against.
  --compare OLD.json     Also print old, new and the change per figure.
  --timeout SECS         Kill QEMU after SECS seconds (default 300).
  --trace                With the hypervisor's tracer on (what tracing costs;
                         the trace itself is discarded).
";

/// `cargo xtask fuzz --help`.
pub const FUZZ_USAGE: &str = "\
Usage: cargo xtask fuzz [--calls N] [--seed S] [--timeout SECS]

Boot the hypercall fuzzer (N random hypercalls with edge-case arguments,
from seed S) next to a guest that measures its own CPU share, under TCG.
Exit 0 only when clean: no hypervisor fault or hang, every call answered
with a documented status, the bystander given at least 40% of the CPU in
every 500 ms window. On failure, print the seed and the command that
reproduces the run.

Options:
  --calls N        Hypercalls to issue (default 100000).
  --seed S         The seed (default: from the clock, printed).
  --timeout SECS   Kill QEMU after SECS seconds (default: scaled to N).
";

/// What the user asked for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Print this text.
    Help(&'static str),
    /// `cargo xtask build`.
    Build { profile: Profile },
    /// `cargo xtask run`.
    Run(RunOptions),
    /// `cargo xtask test`.
    Test(TestOptions),
    /// `cargo xtask bench`.
    Bench(BenchOptions),
    /// `cargo xtask new-guest DIR`.
    NewGuest { dir: PathBuf },
    /// `cargo xtask fuzz`.
    Fuzz(FuzzOptions),
    /// `cargo xtask trace`.
    Trace {
        run: RunOptions,
        out: Option<PathBuf>,
    },
    /// `cargo xtask gdb`.
    Gdb(GdbOptions),
}

/// Options of `cargo xtask bench`.
#[derive(Debug, PartialEq)]
pub struct BenchOptions {
    pub accel: AccelChoice,
    /// Count instructions (TCG with `-icount shift=0,sleep=off`).
    pub icount: bool,
    pub timeout: Duration,
    /// A previous `bench.json` to compare with.
    pub compare: Option<PathBuf>,
    /// With the tracer on.
    pub trace: bool,
}

/// Options of `cargo xtask test`.
#[derive(Debug, PartialEq)]
pub struct TestOptions {
    pub profile: Profile,
    /// `None` means the test default (TCG).
    pub accel: Option<AccelChoice>,
    pub filter: Option<String>,
    pub guests: GuestSource,
    pub expect: Vec<String>,
    pub timeout: Option<Duration>,
    pub long: bool,
    /// Runs of each selected scenario.
    pub repeat: u32,
    /// Leave out the driver domain added when a disk is attached (with
    /// `guests` only).
    pub no_driver: bool,
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err("no command given (try `cargo xtask --help`)".to_string());
    };
    let mut words = Words::new(rest);
    match command.as_str() {
        "--help" | "-h" | "help" => Ok(Command::Help(USAGE)),
        "build" => parse_build(&mut words),
        "run" => parse_run(&mut words),
        "test" => parse_test(&mut words),
        "bench" => parse_bench(&mut words),
        "trace" => parse_trace(rest),
        "fuzz" => parse_fuzz(&mut words),
        "gdb" => parse_gdb(&mut words),
        "new-guest" => match rest {
            [help] if help == "--help" || help == "-h" => Ok(Command::Help(NEW_GUEST_USAGE)),
            _ => crate::new_guest::parse_args(rest).map(|dir| Command::NewGuest { dir }),
        },
        other => Err(format!(
            "unknown command `{other}` (try `cargo xtask --help`)"
        )),
    }
}

fn parse_build(words: &mut Words<'_>) -> Result<Command, String> {
    let mut profile = Profile::Release;
    while let Some(word) = words.next() {
        match word {
            "--help" | "-h" => return Ok(Command::Help(BUILD_USAGE)),
            "--debug" => profile = Profile::Debug,
            other => return Err(unknown(other, "build")),
        }
    }
    Ok(Command::Build { profile })
}

fn parse_run(words: &mut Words<'_>) -> Result<Command, String> {
    let mut options = RunOptions::default();
    while let Some(word) = words.next() {
        match word {
            "--help" | "-h" => return Ok(Command::Help(RUN_USAGE)),
            "--print-qemu" => options.print_qemu = true,
            other if run_option(&mut options, other, words)? => {}
            other => return Err(unknown(other, "run")),
        }
    }
    Ok(Command::Run(options))
}

/// `gdb`: which domain (or the hypervisor) and how, the rest as for `run`.
fn parse_gdb(words: &mut Words<'_>) -> Result<Command, String> {
    let mut options = GdbOptions {
        run: RunOptions::default(),
        domain: None,
        hypervisor: false,
        no_attach: false,
    };
    while let Some(word) = words.next() {
        match word {
            "--help" | "-h" => return Ok(Command::Help(gdb::USAGE)),
            "--domain" => options.domain = Some(words.value(word)?),
            "--hypervisor" => options.hypervisor = true,
            "--no-attach" => options.no_attach = true,
            other if run_option(&mut options.run, other, words)? => {}
            other => return Err(unknown(other, "gdb")),
        }
    }
    if options.hypervisor && options.domain.is_some() {
        return Err("--hypervisor debugs the hypervisor: drop --domain".to_string());
    }
    Ok(Command::Gdb(options))
}

/// `trace`: `--out FILE` (before any `--`), the rest as for `run`.
fn parse_trace(rest: &[String]) -> Result<Command, String> {
    let mut out = None;
    let mut run_words = Vec::new();
    let mut index = 0;
    while let Some(word) = rest.get(index) {
        index += 1;
        match word.split_once('=') {
            _ if word == "--" => {
                run_words.extend_from_slice(&rest[index - 1..]);
                break;
            }
            _ if word == "--help" || word == "-h" => return Ok(Command::Help(TRACE_USAGE)),
            Some(("--out", "")) => return Err("--out needs a value, not an empty one".into()),
            Some(("--out", value)) => out = Some(PathBuf::from(value)),
            _ if word == "--out" => {
                let value = rest
                    .get(index)
                    .filter(|value| !value.is_empty() && !value.starts_with("--"))
                    .ok_or("--out needs a value")?;
                index += 1;
                out = Some(PathBuf::from(value));
            }
            _ => run_words.push(word.clone()),
        }
    }
    let mut words = Words::new(&run_words);
    match parse_run(&mut words).map_err(|e| {
        e.replace("`run`", "`trace`")
            .replace("xtask run", "xtask trace")
    })? {
        Command::Run(run) => Ok(Command::Trace { run, out }),
        Command::Help(_) => Ok(Command::Help(TRACE_USAGE)),
        other => Ok(other),
    }
}

fn parse_test(words: &mut Words<'_>) -> Result<Command, String> {
    let mut options = TestOptions {
        profile: Profile::Release,
        accel: None,
        filter: None,
        guests: GuestSource::default(),
        expect: Vec::new(),
        timeout: None,
        long: false,
        repeat: 1,
        no_driver: false,
    };
    while let Some(word) = words.next() {
        match word {
            "--help" | "-h" => return Ok(Command::Help(TEST_USAGE)),
            "--debug" => options.profile = Profile::Debug,
            "--accel" => options.accel = Some(parse_accel(&words.value(word)?)?),
            "--filter" => options.filter = Some(words.value(word)?),
            "--guest" => options
                .guests
                .guests
                .push(guest_spec::parse_option(&words.value(word)?)?),
            "--config" => options.guests.set_config(words.value(word)?)?,
            "--expect" => options.expect.push(words.value(word)?),
            "--timeout" => options.timeout = Some(parse_seconds(&words.value(word)?)?),
            "--long" => options.long = true,
            "--repeat" => options.repeat = parse_repeat(&words.value(word)?)?,
            "--no-driver" => options.no_driver = true,
            other => return Err(unknown(other, "test")),
        }
    }
    if !options.expect.is_empty() && options.guests.is_empty() {
        return Err("--expect applies to your guests: give --guest or --config".to_string());
    }
    if options.no_driver && options.guests.is_empty() {
        return Err("--no-driver applies to your guests: give --guest or --config".to_string());
    }
    if options.timeout.is_some() && options.guests.is_empty() {
        return Err(
            "--timeout applies to your guests (give --guest or --config); \
             the built-in scenarios have their own limits"
                .to_string(),
        );
    }
    let scenario_only = [
        ("--filter", options.filter.is_some()),
        ("--repeat", options.repeat != 1),
        ("--long", options.long),
    ];
    if let Some((option, _)) = scenario_only.iter().find(|(_, given)| *given)
        && !options.guests.is_empty()
    {
        return Err(format!(
            "{option} selects built-in scenarios; it does not apply with --guest or --config"
        ));
    }
    Ok(Command::Test(options))
}

fn parse_bench(words: &mut Words<'_>) -> Result<Command, String> {
    let mut options = BenchOptions {
        accel: AccelChoice::Auto,
        icount: false,
        timeout: Duration::from_secs(300),
        compare: None,
        trace: false,
    };
    let mut accel_given = false;
    while let Some(word) = words.next() {
        match word {
            "--help" | "-h" => return Ok(Command::Help(BENCH_USAGE)),
            "--accel" => {
                options.accel = parse_accel(&words.value(word)?)?;
                accel_given = true;
            }
            "--icount" => options.icount = true,
            "--trace" => options.trace = true,
            "--compare" => options.compare = Some(PathBuf::from(words.value(word)?)),
            "--timeout" => options.timeout = parse_seconds(&words.value(word)?)?,
            other => return Err(unknown(other, "bench")),
        }
    }
    if options.icount && accel_given && options.accel != AccelChoice::Tcg {
        return Err("--icount runs under TCG: drop --accel or use --accel tcg".into());
    }
    Ok(Command::Bench(options))
}

fn parse_fuzz(words: &mut Words<'_>) -> Result<Command, String> {
    let mut options = FuzzOptions {
        calls: crate::fuzz::DEFAULT_CALLS,
        seed: None,
        timeout: None,
    };
    while let Some(word) = words.next() {
        match word {
            "--help" | "-h" => return Ok(Command::Help(FUZZ_USAGE)),
            "--calls" => options.calls = crate::fuzz::parse_calls(&words.value(word)?)?,
            "--seed" => options.seed = Some(crate::fuzz::parse_seed(&words.value(word)?)?),
            "--timeout" => options.timeout = Some(parse_seconds(&words.value(word)?)?),
            other => return Err(unknown(other, "fuzz")),
        }
    }
    Ok(Command::Fuzz(options))
}

/// Most runs `--repeat` accepts.
const MAX_REPEAT: u32 = 1000;

fn parse_repeat(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(runs) if (1..=MAX_REPEAT).contains(&runs) => Ok(runs),
        _ => Err(format!(
            "invalid --repeat `{value}`: expected a number of runs from 1 to {MAX_REPEAT}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(line: &str) -> Result<Command, String> {
        parse(
            &line
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn parses_fuzz_options() {
        assert_eq!(
            parse_words("fuzz --calls 1_000_000 --seed=42 --timeout 600"),
            Ok(Command::Fuzz(FuzzOptions {
                calls: 1_000_000,
                seed: Some(42),
                timeout: Some(Duration::from_secs(600)),
            }))
        );
        assert_eq!(
            parse_words("fuzz"),
            Ok(Command::Fuzz(FuzzOptions {
                calls: crate::fuzz::DEFAULT_CALLS,
                seed: None,
                timeout: None,
            }))
        );
        for bad in [
            "fuzz --calls 0",
            "fuzz --seed -1",
            "fuzz --calls",
            "fuzz --frobnicate",
        ] {
            assert!(parse_words(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_gdb_options() {
        let Ok(Command::Gdb(options)) =
            parse_words("gdb --domain beta --no-attach --accel tcg -- loglevel=debug")
        else {
            panic!("gdb did not parse");
        };
        assert_eq!(options.domain.as_deref(), Some("beta"));
        assert!(options.no_attach && !options.hypervisor);
        assert_eq!(options.run.accel, AccelChoice::Tcg);
        assert_eq!(options.run.extra_cmdline, ["loglevel=debug"]);
        assert!(matches!(
            parse_words("gdb --hypervisor"),
            Ok(Command::Gdb(GdbOptions {
                hypervisor: true,
                ..
            }))
        ));
        assert_eq!(
            parse_words("gdb --help"),
            Ok(Command::Help(crate::gdb::USAGE))
        );
        for line in [
            "gdb --hypervisor --domain alpha",
            "gdb --domain",
            "gdb --print-qemu",
        ] {
            assert!(parse_words(line).is_err(), "{line}");
        }
    }

    #[test]
    fn parses_new_guest() {
        assert_eq!(
            parse_words("new-guest x"),
            Ok(Command::NewGuest { dir: "x".into() })
        );
        assert!(parse_words("new-guest --help").is_ok_and(|c| matches!(c, Command::Help(_))));
    }

    #[test]
    fn parses_run_options_and_extra_words() {
        let Ok(Command::Run(options)) = parse_words(
            "run --accel=kvm --mem-per-domain 64M --timeout 5 --machine-mem=2G \
             --guest k.elf,count=2 --guest=j.elf,mem=4M --print-qemu -- a=1 --help",
        ) else {
            panic!("run did not parse");
        };
        assert_eq!(options.accel, AccelChoice::Kvm);
        assert_eq!(options.mem_per_domain, Some(64 << 20));
        assert_eq!(options.machine_mem, Some(2 << 30));
        assert_eq!(options.timeout, Some(Duration::from_secs(5)));
        assert_eq!(options.guests.guests.len(), 2);
        assert_eq!(options.guests.guests[1].mem, Some(4 << 20));
        assert!(options.print_qemu);
        assert_eq!(options.extra_cmdline, ["a=1", "--help"]);
    }

    #[test]
    fn parses_test_and_build() {
        let Ok(Command::Test(options)) = parse_words("test --filter boot") else {
            panic!("test did not parse");
        };
        assert_eq!(options.filter.as_deref(), Some("boot"));
        let Ok(Command::Test(options)) =
            parse_words("test --guest k.elf --expect hello --expect=bye --timeout 9")
        else {
            panic!("test did not parse");
        };
        assert_eq!(options.expect, ["hello", "bye"]);
        assert!(!options.long && !options.no_driver);
        for (words, wanted) in [
            (
                "test --guest k.elf --long",
                "--long selects built-in scenarios",
            ),
            ("test --config c.toml --filter x", "--filter selects"),
            ("test --guest k.elf --repeat 3", "--repeat selects"),
            ("test --timeout 9", "--timeout applies to your guests"),
            (
                "test --config a.toml --config b.toml",
                "--config given twice",
            ),
            ("test --guest --debug", "--guest needs a value"),
            ("test --filter=", "--filter needs a value, not an empty one"),
            (
                "run --timeout 18446744073709551615",
                "expected 1 to 604800 seconds",
            ),
        ] {
            let error = parse_words(words).unwrap_err();
            assert!(error.contains(wanted), "{words}: {error}");
        }
        assert!(matches!(
            parse_words("test --guest k.elf,disk=a.img --no-driver"),
            Ok(Command::Test(TestOptions {
                no_driver: true,
                ..
            }))
        ));
        assert!(matches!(
            parse_words("test --repeat 5"),
            Ok(Command::Test(TestOptions { repeat: 5, .. }))
        ));
        assert!(matches!(
            parse_words("bench --icount --compare old.json"),
            Ok(Command::Bench(BenchOptions {
                icount: true,
                compare: Some(_),
                ..
            }))
        ));
        assert_eq!(
            parse_words("build --debug"),
            Ok(Command::Build {
                profile: Profile::Debug
            })
        );
    }

    #[test]
    fn help_is_per_command() {
        assert_eq!(parse_words("--help"), Ok(Command::Help(USAGE)));
        assert_eq!(parse_words("run --help"), Ok(Command::Help(RUN_USAGE)));
        assert_eq!(parse_words("test -h"), Ok(Command::Help(TEST_USAGE)));
        assert_eq!(parse_words("bench --help"), Ok(Command::Help(BENCH_USAGE)));
        assert_eq!(parse_words("build --help"), Ok(Command::Help(BUILD_USAGE)));
        for (text, option) in [(RUN_USAGE, "--print-qemu"), (TEST_USAGE, "--expect")] {
            assert!(text.contains(option));
        }
        assert!(!BENCH_USAGE.contains("--guest"));
    }

    #[test]
    fn rejects_bad_input() {
        for line in [
            "",
            "frobnicate",
            "build --release",
            "run --accel hvf",
            "run --mem-per-domain lots",
            "run --mem-per-domain 0",
            "run --mem-per-domain 8G",
            "run --mem-per-domain 999999999999G",
            "run --machine-mem 1K",
            "run --machine-mem 1000000G",
            "run --timeout 0",
            "run --guest",
            "run --guest k,count=0",
            "run --guest k,frob=1",
            "test --filter",
            "test --expect x",
            "test --no-driver",
            "test --repeat 0",
            "test --repeat 1001",
            "test --repeat many",
            "bench --icount --accel kvm",
            "new-guest",
        ] {
            assert!(parse_words(line).is_err(), "{line}");
        }
        let error = parse_words("run --bogus").unwrap_err();
        assert!(error.contains("cargo xtask run --help"), "{error}");
    }
}
