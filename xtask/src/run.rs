//! `cargo xtask run`: boot the default two-domain bundle with the serial
//! console on the terminal, and exit with the hypervisor's status.
//!
//! The default bundle (domains `alpha` and `beta`, both the `guest-kernel`
//! binary, no arguments) is written to `target/bundles/default.bundle`.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitCode, ExitStatus};

use shared_abi::exit::HvExit;

use crate::artifacts::{self, Output};
use crate::bundle::{self, GuestSpec};
use crate::cli::RunOptions;
use crate::qemu::{self, Accel, Boot, Ending};

/// The guest binary every default domain runs.
const DEFAULT_GUEST: &str = "guest-kernel";
/// Names of the default domains.
const DEFAULT_DOMAINS: [&str; 2] = ["alpha", "beta"];
/// Exit code when `--timeout` expired (as timeout(1) uses).
const EXIT_TIMED_OUT: u8 = 124;
/// Exit code when QEMU ended without a hypervisor status.
const EXIT_UNEXPECTED: u8 = 125;

/// Builds, boots and maps QEMU's ending to this process's exit code.
pub fn run(options: RunOptions) -> Result<ExitCode, String> {
    let qemu = qemu::find()?;
    let accel = Accel::resolve(options.accel)?;
    let artifacts = artifacts::build(options.profile, Output::Inherit)?;

    let image = artifacts.read_guest(DEFAULT_GUEST)?;
    let guests: Vec<GuestSpec> = DEFAULT_DOMAINS
        .iter()
        .map(|name| GuestSpec {
            name: name.to_string(),
            args: String::new(),
            image: image.clone(),
        })
        .collect();
    let bundle_path = artifacts::target_dir()
        .join("bundles")
        .join("default.bundle");
    bundle::write(&bundle_path, &guests)?;

    let disk = crate::disk_image::directory().join("default.img");
    crate::disk_image::ext2(&disk, DEFAULT_DOMAINS.len())?;
    let mut cmdline: Vec<String> = options
        .mem_per_domain
        .iter()
        .map(|size| format!("dom_mem={size}"))
        .collect();
    if colour_terminal() {
        cmdline.push("console_color".to_string());
    }
    cmdline.extend(options.extra_cmdline);
    let boot = Boot {
        qemu,
        hypervisor: artifacts.hypervisor(),
        bundle: bundle_path,
        cmdline,
        accel,
        disk: Some(disk),
        icount: None,
    };

    match boot.run_attached(options.timeout)? {
        Ending::TimedOut(timeout) => {
            eprintln!("qemu timed out after {}s and was killed", timeout.as_secs());
            Ok(ExitCode::from(EXIT_TIMED_OUT))
        }
        Ending::Killed => Ok(ExitCode::from(EXIT_UNEXPECTED)),
        Ending::Exited(status) => {
            let (code, message) = exit_code(status);
            if let Some(message) = message {
                eprintln!("{message}");
            }
            Ok(ExitCode::from(code))
        }
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
        Some((_, Some(HvExit::HypervisorFault))) => (2, None),
        Some((_, Some(HvExit::NoDomains))) => (3, None),
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
            exit_code(exited(HvExit::HypervisorFault.qemu_status())),
            (2, None)
        );
        assert_eq!(
            exit_code(exited(HvExit::NoDomains.qemu_status())),
            (3, None)
        );
    }

    #[test]
    fn reports_other_endings() {
        let message = "qemu exited unexpectedly with status 1".to_string();
        assert_eq!(exit_code(exited(1)), (125, Some(message)));
        assert_eq!(exit_code(ExitStatus::from_raw(9)).0, 125);
    }
}
