//! `cargo xtask run`: boot the default two-domain bundle with the serial
//! console on the terminal, and exit with the hypervisor's status.
//!
//! The default bundle (domains `alpha` and `beta`, both the `guest-kernel`
//! binary, no arguments) is written to `target/bundles/default.bundle`.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitCode;

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

    let mut cmdline: Vec<String> = options
        .mem_per_domain
        .iter()
        .map(|size| format!("dom_mem={size}"))
        .collect();
    cmdline.extend(options.extra_cmdline);
    let boot = Boot {
        qemu,
        hypervisor: artifacts.hypervisor(),
        bundle: bundle_path,
        cmdline,
        accel,
    };

    match boot.run_attached(options.timeout)? {
        Ending::TimedOut(timeout) => {
            eprintln!("qemu timed out after {}s and was killed", timeout.as_secs());
            Ok(ExitCode::from(EXIT_TIMED_OUT))
        }
        Ending::Exited(status) => match status.code() {
            Some(code) => Ok(match HvExit::from_qemu_status(code) {
                Some(HvExit::Success) => ExitCode::from(0),
                Some(HvExit::DomainFailed) => ExitCode::from(1),
                Some(HvExit::HypervisorFault) => ExitCode::from(2),
                Some(HvExit::NoDomains) => ExitCode::from(3),
                None => {
                    eprintln!("qemu exited unexpectedly with status {code}");
                    ExitCode::from(EXIT_UNEXPECTED)
                }
            }),
            None => {
                let signal = status.signal().unwrap_or(0);
                eprintln!("qemu exited unexpectedly after signal {signal}");
                Ok(ExitCode::from(EXIT_UNEXPECTED))
            }
        },
    }
}
