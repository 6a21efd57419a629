//! `cargo xtask run`: boot the default two-domain bundle, or the user's own
//! guests (`--guest`, `--config`), with the serial console on the terminal,
//! and exit 0 only when every domain shut down with code 0.
//!
//! The default bundle (domains `alpha` and `beta`, both the `guest-kernel`
//! binary, no arguments, sharing the ext2 disk image) is written to
//! `target/bundles/default.bundle`; the user's to `target/bundles/run.bundle`,
//! after every image has passed the hypervisor's own checks on the host.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, ExitStatus};
use std::sync::Arc;

use hypervisor::cmdline::DEFAULT_DOMAIN_MEMORY;
use shared_abi::bundle::EntryExtras;
use shared_abi::exit::HvExit;

use crate::artifacts::{self, Artifacts, Output};
use crate::bundle::{self, GuestSpec};
use crate::guest_disks::PhysicalDisk;
use crate::options::RunOptions;
use crate::qemu::{self, Accel, Boot, Ending};
use crate::{default_driver, guest_check, guest_disks, run_report};

/// The guest binary every default domain runs.
const DEFAULT_GUEST: &str = "guest-kernel";
/// Names of the default domains.
const DEFAULT_DOMAINS: [&str; 2] = ["alpha", "beta"];
/// Exit code when `--timeout` expired (as timeout(1) uses).
const EXIT_TIMED_OUT: u8 = 124;
/// Exit code when QEMU ended without a hypervisor status.
const EXIT_UNEXPECTED: u8 = 125;

/// What one run boots: the bundle's domains, the disk, and each domain's
/// memory (for sizing the machine).
pub struct Plan {
    pub specs: Vec<GuestSpec>,
    /// The ELF file each domain boots (its symbols, for a debugger).
    pub elfs: Vec<PathBuf>,
    pub disk: Option<PathBuf>,
    /// The user's images, written back when QEMU ends.
    pub user_disk: Option<PhysicalDisk>,
    pub memory: Vec<u64>,
}

impl Plan {
    /// The default domains on the ext2 image.
    fn default_guests(artifacts: &Artifacts, mem_per_domain: u64) -> Result<Plan, String> {
        let image = artifacts.read_guest(DEFAULT_GUEST)?.into();
        let specs: Vec<GuestSpec> = DEFAULT_DOMAINS
            .iter()
            .map(|name| GuestSpec {
                name: name.to_string(),
                image: Arc::clone(&image),
                ..GuestSpec::default()
            })
            .collect();
        let disk = crate::paths::disks().join("default.img");
        crate::disk_image::ext2(&disk, DEFAULT_DOMAINS.len())?;
        let memory = vec![mem_per_domain; specs.len()];
        Ok(Plan {
            elfs: vec![artifacts.guest(DEFAULT_GUEST); specs.len()],
            specs,
            disk: Some(disk),
            user_disk: None,
            memory,
        })
    }

    /// The user's guests, checked, with their disks laid out in
    /// `target/disks/<name>.img`.
    pub fn user_guests(
        guests: &[crate::guest_spec::GuestOption],
        mem_per_domain: u64,
        name: &str,
    ) -> Result<Plan, String> {
        let domains = guest_check::prepare(guests, mem_per_domain)?;
        let disks: Vec<Option<PathBuf>> = domains.iter().map(|d| d.disk.clone()).collect();
        let path = crate::paths::disks().join(format!("{name}.img"));
        let (user_disk, extras) = guest_disks::build(&path, &disks)?;
        let memory = domains
            .iter()
            .map(|domain| domain.mem.unwrap_or(mem_per_domain))
            .collect();
        let elfs = domains.iter().map(|domain| domain.path.clone()).collect();
        let specs = domains
            .into_iter()
            .zip(extras)
            .map(|(domain, extras)| GuestSpec {
                name: domain.name,
                args: domain.args,
                image: domain.image,
                extras: EntryExtras {
                    memory: domain.mem.unwrap_or(0),
                    mode: domain.mode,
                    driver: domain.driver,
                    no_disk: extras.no_disk || domain.driver,
                    restart: domain.restart,
                    ..extras
                },
            })
            .collect();
        Ok(Plan {
            specs,
            elfs,
            disk: user_disk.as_ref().map(|disk| disk.path.clone()),
            user_disk,
            memory,
        })
    }

    /// Adds the driver domain serving the disk as the last domain, when a
    /// disk is attached and no guest is a driver domain (see
    /// `default_driver`), with `mem_per_domain` of memory; `no_driver`
    /// leaves it out.
    pub fn with_driver(
        mut self,
        artifacts: &Artifacts,
        no_driver: bool,
        mem_per_domain: u64,
    ) -> Result<Plan, String> {
        if !no_driver && default_driver::append(artifacts, self.disk.is_some(), &mut self.specs)? {
            self.elfs.push(artifacts.guest(default_driver::BINARY));
            self.memory.push(mem_per_domain);
        }
        Ok(self)
    }

    /// QEMU's memory: `requested`, or what the domains need.
    pub fn machine_memory(&self, requested: Option<u64>, bundle_bytes: u64) -> Result<u64, String> {
        use hypervisor::memory_budget::{MAX_MACHINE_MEMORY, machine_memory};
        let needed = machine_memory(self.memory.iter().copied(), bundle_bytes)
            .filter(|bytes| *bytes <= MAX_MACHINE_MEMORY)
            .ok_or_else(|| {
                format!(
                    "the domains need more machine memory than the hypervisor manages ({} GiB)",
                    MAX_MACHINE_MEMORY >> 30
                )
            })?;
        match requested {
            Some(bytes) if bytes < needed => Err(format!(
                "--machine-mem {} MiB is less than the {} MiB the domains need",
                bytes >> 20,
                needed >> 20
            )),
            Some(bytes) => Ok(bytes),
            None => Ok(needed.max(qemu::DEFAULT_MACHINE_MEMORY)),
        }
    }
}

/// Builds, checks the guests, boots and maps the ending to an exit code.
pub fn run(options: RunOptions) -> Result<ExitCode, String> {
    run_traced(options, None)
}

/// As [`run`]; with `trace`, the hypervisor's tracer is on and QEMU's
/// debug console (where the trace is written) goes to that file.
pub fn run_traced(options: RunOptions, trace: Option<&Path>) -> Result<ExitCode, String> {
    let colour = colour_terminal() && !options.print_qemu;
    let (mut boot, plan) = prepare(&options, colour)?;
    if let Some(file) = trace {
        // Before the user's own words, so that a `trace=N` of theirs wins.
        let at = boot.cmdline.len() - options.extra_cmdline.len();
        boot.cmdline.insert(at, "trace".to_string());
        boot.debugcon = Some(file.to_path_buf());
    }
    if options.print_qemu {
        println!("{}", boot.shell_command());
        return Ok(ExitCode::SUCCESS);
    }
    let ran = boot.run_attached(options.timeout);
    conclude(&plan, ran)
}

/// Checks the guests, builds, writes the bundle and returns the boot that
/// `options` describe (not started) and its plan. `colour`: the console
/// shows on a colour terminal.
pub fn prepare(options: &RunOptions, colour: bool) -> Result<(Boot, Plan), String> {
    let qemu = qemu::find()?;
    let accel = Accel::resolve(options.accel)?;
    check_cmdline(&options.extra_cmdline, options.mem_per_domain.is_some())?;
    let guests = options.guests.resolve()?;
    let mem_per_domain = options.mem_per_domain.unwrap_or(DEFAULT_DOMAIN_MEMORY);
    // Check the user's images before spending time on a build.
    if !guests.is_empty() {
        guest_check::prepare(&guests, mem_per_domain)?;
    }
    let artifacts = artifacts::build(options.profile, Output::Inherit)?;
    let (plan, bundle_name) = if guests.is_empty() {
        (Plan::default_guests(&artifacts, mem_per_domain)?, "default")
    } else {
        (Plan::user_guests(&guests, mem_per_domain, "run")?, "run")
    };
    let plan = plan.with_driver(&artifacts, options.no_driver, mem_per_domain)?;
    let bundle_path = crate::paths::target_dir()
        .join("bundles")
        .join(format!("{bundle_name}.bundle"));
    let bundle_bytes = bundle::encode(&plan.specs)?;
    bundle::write_bytes(&bundle_path, &bundle_bytes)?;

    let mut cmdline: Vec<String> = options
        .mem_per_domain
        .iter()
        .map(|bytes| format!("dom_mem={}", size_text(*bytes)))
        .collect();
    if colour {
        cmdline.push("console_color".to_string());
    }
    cmdline.extend(options.extra_cmdline.iter().cloned());
    let boot = Boot {
        qemu,
        hypervisor: artifacts.hypervisor(),
        bundle: bundle_path,
        cmdline,
        accel,
        disk: plan.disk.clone(),
        memory: plan.machine_memory(options.machine_mem, bundle_bytes.len() as u64)?,
        icount: None,
        debugcon: None,
        debug: None,
    };
    Ok((boot, plan))
}

/// After QEMU ended (`ran`: how, and its console): writes the user's disk
/// images back, prints one line per thing that went wrong, and maps the
/// ending to this process's exit code.
pub fn conclude(plan: &Plan, ran: Result<(Ending, String), String>) -> Result<ExitCode, String> {
    let copied = plan.user_disk.as_ref().map(PhysicalDisk::copy_back);
    let (ending, serial) = ran?;
    if let Some(Err(error)) = copied {
        eprintln!("error: {error}");
    }
    let (code, lines) = judge(&ending, &serial);
    for line in lines {
        eprintln!("error: {line}");
    }
    Ok(ExitCode::from(code))
}

/// Refuses hypervisor command-line words the hypervisor would ignore (it
/// only warns, and would boot with its default instead), `gdb=` (a domain
/// held for a debugger that nothing would start: `cargo xtask gdb` does
/// that), and `dom_mem=` beside `--mem-per-domain` (`mem_per_domain`),
/// which sizes the machine for its own figure.
fn check_cmdline(words: &[String], mem_per_domain: bool) -> Result<(), String> {
    for word in words {
        if word.starts_with("gdb=") {
            return Err(format!(
                "hypervisor command-line word `{word}`: use `cargo xtask gdb --domain NAME`, \
                 which also starts the debugger"
            ));
        }
        if mem_per_domain && word.starts_with("dom_mem=") {
            return Err(format!(
                "hypervisor command-line word `{word}` conflicts with --mem-per-domain: give one"
            ));
        }
    }
    let mut rejected = None;
    hypervisor::cmdline::parse(&words.join(" "), |word| {
        rejected.get_or_insert(format!(
            "hypervisor command-line word `{}`: {}",
            word.word, word.reason
        ));
    });
    rejected.map_or(Ok(()), Err)
}

/// This process's exit code for how QEMU ended and what the log shows, and
/// one line for each thing that went wrong.
fn judge(ending: &Ending, serial: &str) -> (u8, Vec<String>) {
    let (domains, rejected) = run_report::read(serial);
    let mut lines = rejected;
    lines.extend(run_report::failures(&domains));
    let code = match ending {
        Ending::TimedOut(timeout) => {
            lines.insert(
                0,
                format!("timed out after {}s; QEMU was killed", timeout.as_secs()),
            );
            EXIT_TIMED_OUT
        }
        Ending::Killed => EXIT_UNEXPECTED,
        Ending::Exited(status) => {
            let (code, message) = exit_code(*status);
            lines.extend(message);
            if code == 0 && !lines.is_empty() {
                // The hypervisor's status and its report disagree: trust neither.
                1
            } else {
                code
            }
        }
    };
    (code, lines)
}

/// `bytes` as the hypervisor's command line writes sizes.
fn size_text(bytes: u64) -> String {
    match bytes {
        b if b % (1 << 30) == 0 => format!("{}G", b >> 30),
        b if b % (1 << 20) == 0 => format!("{}M", b >> 20),
        b if b % (1 << 10) == 0 => format!("{}K", b >> 10),
        b => b.to_string(),
    }
}

/// This process's exit code for QEMU's exit status, with a message when QEMU
/// did not end through the hypervisor.
fn exit_code(status: ExitStatus) -> (u8, Option<String>) {
    match status
        .code()
        .map(|code| (code, HvExit::from_qemu_status(code)))
    {
        Some((_, Some(HvExit::Success))) => (0, None),
        Some((_, Some(HvExit::DomainFailed))) => (1, None),
        Some((_, Some(HvExit::HypervisorFault))) => (
            2,
            Some("the hypervisor faulted (its report is above)".into()),
        ),
        Some((_, Some(HvExit::NoDomains))) => (3, Some("no domain could start".into())),
        // QEMU exits with 0 when a signal (Ctrl-C) ended it.
        Some((0, None)) => (
            EXIT_UNEXPECTED,
            Some("qemu was interrupted before the hypervisor finished".into()),
        ),
        Some((code, None)) => {
            let message = format!("qemu exited unexpectedly with status {code}");
            (EXIT_UNEXPECTED, Some(message))
        }
        None => {
            let signal = status.signal().unwrap_or(0);
            let message = format!("qemu exited unexpectedly after signal {signal}");
            (EXIT_UNEXPECTED, Some(message))
        }
    }
}

/// Whether stdout is a terminal that shows ANSI colours.
fn colour_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
        && std::env::var("TERM").is_ok_and(|term| !term.is_empty() && term != "dumb")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(code: i32) -> ExitStatus {
        ExitStatus::from_raw(code << 8)
    }

    #[test]
    fn maps_hypervisor_statuses() {
        assert_eq!(exit_code(exited(HvExit::Success.qemu_status())), (0, None));
        assert_eq!(
            exit_code(exited(HvExit::DomainFailed.qemu_status())),
            (1, None)
        );
        assert_eq!(
            exit_code(exited(HvExit::HypervisorFault.qemu_status())).0,
            2
        );
        assert_eq!(exit_code(exited(HvExit::NoDomains.qemu_status())).0, 3);
    }

    #[test]
    fn reports_other_endings() {
        let message = "qemu exited unexpectedly with status 1".to_string();
        assert_eq!(exit_code(exited(1)), (125, Some(message)));
        assert_eq!(exit_code(ExitStatus::from_raw(9)).0, 125);
    }

    #[test]
    fn judges_each_domain() {
        let log = "hv: domain 1 'a' started (4 MiB, entry 0x1)\n\
                   hv: domain 2 'b' started (4 MiB, entry 0x1)\n\
                   hv: result: domain 1 'a' exited with code 0\n\
                   hv: result: domain 2 'b' exited with code 3\n";
        let failed = Ending::Exited(exited(HvExit::DomainFailed.qemu_status()));
        assert_eq!(
            judge(&failed, log),
            (1, vec!["domain 2 'b' exited with code 3".to_string()])
        );
        let clean = log.replace("code 3", "code 0");
        let success = Ending::Exited(exited(HvExit::Success.qemu_status()));
        assert_eq!(judge(&success, &clean), (0, vec![]));
        let hung = "hv: domain 1 'a' started (4 MiB, entry 0x1)\n";
        let (code, lines) = judge(&Ending::TimedOut(std::time::Duration::from_secs(5)), hung);
        assert_eq!(code, 124);
        assert_eq!(lines[1], "domain 1 'a' was still running");
    }

    #[test]
    fn refuses_words_the_hypervisor_would_ignore() {
        let words = |text: &str| text.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            check_cmdline(&words("dom_mem=8M loglevel=debug"), false),
            Ok(())
        );
        let error = check_cmdline(&words("dom_mem=0"), false).unwrap_err();
        assert!(error.contains("`dom_mem=0`: expected a size"), "{error}");
        assert!(check_cmdline(&words("bogus"), false).is_err());
        let error = check_cmdline(&words("gdb=alpha"), false).unwrap_err();
        assert!(error.contains("cargo xtask gdb"), "{error}");
        let error = check_cmdline(&words("dom_mem=8M"), true).unwrap_err();
        assert!(error.contains("conflicts with --mem-per-domain"), "{error}");
    }

    #[test]
    fn writes_sizes_for_the_hypervisor() {
        assert_eq!(size_text(64 << 20), "64M");
        assert_eq!(size_text(4 << 30), "4G");
        assert_eq!(size_text(4096 * 3), "12K");
    }
}
