//! `cargo xtask gdb`: boot as `run` does, with a debugger's line, and
//! start gdb on it.
//!
//! For a domain (`--domain NAME|ID`, the first domain by default), the
//! hypervisor is told `gdb=NAME` and QEMU gives it a second serial port on
//! a free TCP port of 127.0.0.1; the domain waits, held before its first
//! instruction, while the others run. Once the hypervisor says so, gdb
//! starts with the domain's ELF (its symbols) and `target remote` to that
//! port. With `--hypervisor`,
//! QEMU's own gdb stub serves the port instead, the machine stopped
//! before its first instruction, and gdb gets the hypervisor's ELF.
//!
//! gdb has the terminal, so the console (every domain's output and the
//! hypervisor's log) goes to `target/gdb/console.log`. When gdb exits,
//! QEMU has `--timeout` seconds (30 by default) to finish, and the run is
//! judged as `run` judges it. `--no-attach` starts no gdb: it prints the
//! command that attaches one and runs QEMU with the console on the
//! terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use hypervisor::cmdline::DomainRef;

use crate::options::RunOptions;
use crate::qemu::{self, DebugLink, Ending};
use crate::run;

/// The debugger this command starts.
pub const GDB: &str = "gdb";
/// How long QEMU may run on after gdb exits, unless `--timeout` says.
const AFTER_GDB: Duration = Duration::from_secs(30);
/// What the hypervisor logs once the domain waits for a debugger.
const READY: &str = "waits for a debugger on COM2";
/// How long the hypervisor may take to get there (KVM start-up on
/// nested machines takes seconds).
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);

/// `cargo xtask gdb --help`.
pub const USAGE: &str = "\
Usage: cargo xtask gdb [--domain NAME|ID | --hypervisor] [--no-attach] [OPTIONS]
                       [-- HYPERVISOR-CMDLINE-WORDS...]

Build and boot as `run` does (the default guests alpha and beta, or yours),
with a debugger's line on a free TCP port of 127.0.0.1, and start gdb with
the symbols of what it debugs. The domain waits, held before its first
instruction, until gdb lets it run; the other domains run meanwhile. gdb
has the terminal: the console goes to target/gdb/console.log. In gdb:
`break FUNCTION`, `continue`, `bt`, `print`, `step`, Ctrl-C, `detach`.

Options:
  --domain NAME|ID   The domain to debug (default: the first). gdb sees its
                     registers and its memory through its own page tables.
  --hypervisor       Debug the hypervisor instead, through QEMU's own gdb
                     stub (the machine waits before its first instruction).
  --no-attach        Start no gdb: print the `target remote` line and the
                     gdb command that attaches, and show the console here.
  --timeout SECS     How long QEMU may run on after gdb exits (default 30;
                     with --no-attach, the whole run).
  The options of `run` (--guest, --config, --accel, --mem-per-domain,
  --machine-mem, --no-driver, --debug) choose what boots.

Exit status: as for `run`, once QEMU has ended.
";

/// Options of `cargo xtask gdb`.
#[derive(Debug, PartialEq)]
pub struct GdbOptions {
    /// What boots, as for `run`.
    pub run: RunOptions,
    /// The domain to debug (name or identifier; default the first).
    pub domain: Option<String>,
    /// Debug the hypervisor itself instead.
    pub hypervisor: bool,
    /// Start no gdb: print how to attach one.
    pub no_attach: bool,
}

/// Finds gdb on `PATH`, or explains how to install it.
pub fn find() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(GDB))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            format!("{GDB} not found: install it with `sudo apt-get install gdb` (Debian/Ubuntu)")
        })
}

/// The gdb command line that loads `symbols` and attaches to `port`
/// (batch options and commands follow). gdb waits up to 30 s for each
/// reply rather than 2: a machine that is still booting (seconds under
/// nested KVM) answers only once the hypervisor has set up its line.
pub fn command(gdb: &Path, symbols: &Path, port: u16) -> Command {
    let mut command = Command::new(gdb);
    command.arg("-q").arg(symbols);
    command.args(["-ex", "set remotetimeout 30"]);
    command.args(["-ex", &target_remote(port)]);
    command
}

/// gdb's command that attaches to `port` on this host.
pub fn target_remote(port: u16) -> String {
    format!("target remote 127.0.0.1:{port}")
}

/// The index of the domain `which` names among `names` (identifiers count
/// from 1), or an error that lists them.
pub fn pick_domain(names: &[&str], which: &str) -> Result<usize, String> {
    let domain = DomainRef::parse(which);
    let pairs = names
        .iter()
        .enumerate()
        .map(|(i, name)| (i as u32 + 1, *name));
    domain
        .and_then(|domain| domain.select(pairs))
        .map(|id| id as usize - 1)
        .ok_or_else(|| {
            format!(
                "--domain {which}: no such domain (domains: {})",
                names.join(", ")
            )
        })
}

/// Runs `cargo xtask gdb`.
pub fn run(options: GdbOptions) -> Result<ExitCode, String> {
    let gdb = match options.no_attach {
        true => None,
        false => Some(find()?),
    };
    let (mut boot, plan) = run::prepare(&options.run, false)?;
    let port = qemu::free_port()?;
    let (symbols, what) = if options.hypervisor {
        boot.debug = Some(DebugLink::Hypervisor { port });
        (boot.hypervisor.clone(), "the hypervisor".to_string())
    } else {
        let names: Vec<&str> = plan.specs.iter().map(|spec| spec.name.as_str()).collect();
        let index = pick_domain(&names, options.domain.as_deref().unwrap_or(names[0]))?;
        boot.cmdline.push(format!("gdb={}", names[index]));
        boot.debug = Some(DebugLink::Domain { port });
        let what = format!("domain {} '{}'", index + 1, names[index]);
        (plan.elfs[index].clone(), what)
    };
    let Some(gdb) = gdb else {
        println!("{what} waits for a debugger on 127.0.0.1:{port}; attach with");
        println!(
            "  gdb -q {} -ex '{}'",
            qemu::shell_quote(&symbols.display().to_string()),
            target_remote(port)
        );
        return run::conclude(&plan, boot.run_attached(options.run.timeout));
    };
    let console = crate::paths::target_dir().join("gdb");
    std::fs::create_dir_all(&console)
        .map_err(|error| format!("cannot create {}: {error}", console.display()))?;
    let console = console.join("console.log");
    println!(
        "debugging {what}; the console is in {} (`tail -f` it to follow the guests)",
        console.display()
    );
    let mut qemu = boot.start_background(&console)?;
    qemu::ignore_interrupts();
    if !options.hypervisor && !wait_for_line(&mut qemu, &console, READY) {
        eprintln!("error: the hypervisor did not set up the debugger's line (see the console)");
    }
    let debugger = command(&gdb, &symbols, port).status();
    let ending = qemu.wait(options.run.timeout.unwrap_or(AFTER_GDB));
    let serial = std::fs::read_to_string(&console).unwrap_or_default();
    if let Err(error) = debugger {
        eprintln!("error: cannot run {}: {error}", gdb.display());
    }
    if let Ok(Ending::TimedOut(_)) = ending {
        eprintln!("error: QEMU did not finish after gdb exited (held domain? see the console)");
    }
    run::conclude(&plan, ending.map(|ending| (ending, serial)))
}

/// Waits until the console file shows `line` (`true`), or QEMU ends or
/// [`BOOT_TIMEOUT`] passes (`false`).
fn wait_for_line(qemu: &mut qemu::Background, console: &Path, line: &str) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < BOOT_TIMEOUT && qemu.is_running() {
        if std::fs::read_to_string(console).is_ok_and(|text| text.contains(line)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_domains_by_name_or_identifier() {
        let names = ["alpha", "beta"];
        assert_eq!(pick_domain(&names, "beta"), Ok(1));
        assert_eq!(pick_domain(&names, "1"), Ok(0));
        let error = pick_domain(&names, "gamma").unwrap_err();
        assert!(error.contains("domains: alpha, beta"), "{error}");
        assert!(pick_domain(&names, "3").is_err());
        assert!(pick_domain(&names, "a b").is_err());
    }

    #[test]
    fn attaches_with_the_symbols_of_the_domain() {
        let command = command(Path::new("gdb"), Path::new("k.elf"), 1234);
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy()).collect();
        assert_eq!(
            args,
            [
                "-q",
                "k.elf",
                "-ex",
                "set remotetimeout 30",
                "-ex",
                "target remote 127.0.0.1:1234"
            ]
        );
    }
}
