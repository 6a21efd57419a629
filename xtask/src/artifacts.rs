//! Building the hypervisor and the guest binaries, and locating what the build
//! produced.
//!
//! [`build`] makes sure the bare-metal target is installed, runs cargo for the
//! `hypervisor` and `guest-kernel` packages, and returns [`Artifacts`], which
//! knows the path of every ELF the other commands boot.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::paths::{TARGET, target_dir, workspace_root};

/// Every binary of the `guest-kernel` package that the commands may boot.
pub const GUEST_BINS: [&str; 41] = [
    "restart-test",
    "gdb-target",
    "emulation-fuzz",
    "wild-operands",
    "journal",
    "native",
    "holes",
    "workload",
    "readme-guest",
    "share",
    "fuzz",
    "bystander",
    "block-test",
    "console-flood",
    "hostile-console",
    "exceptions",
    "user-mode",
    "event-channels",
    "timekeeping",
    "ping-pong",
    "spinner",
    "flood",
    "bench",
    "guest-kernel",
    "hello",
    "trace-target",
    "privileged",
    "bad-hypercall",
    "worker",
    "fault",
    "top-page",
    "demand-paging",
    "copy-on-write",
    "address-spaces",
    "dirty-bits",
    "isolation",
    "sparse",
    "grant-test",
    "driver",
    "device-refusals",
    "blockfront",
];

/// Cargo profile to build with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    Release,
    Debug,
}

impl Profile {
    /// Name of the directory cargo puts this profile's outputs in.
    fn dir_name(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Debug => "debug",
        }
    }
}

/// How to treat cargo's output while building.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Let cargo print to the terminal.
    Inherit,
    /// Capture it and include it in the error when the build fails.
    Capture,
}

/// A `cargo` command run from the workspace root.
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(workspace_root());
    command
}

/// Paths of the built ELF files.
#[derive(Clone, Debug)]
pub struct Artifacts {
    dir: PathBuf,
}

impl Artifacts {
    /// Where a build with `profile` leaves its binaries.
    pub fn new(profile: Profile) -> Self {
        Self {
            dir: target_dir().join(TARGET).join(profile.dir_name()),
        }
    }

    /// The hypervisor ELF (booted by QEMU as `-kernel`).
    pub fn hypervisor(&self) -> PathBuf {
        self.dir.join("hypervisor")
    }

    /// The ELF of guest binary `bin`.
    pub fn guest(&self, bin: &str) -> PathBuf {
        self.dir.join(bin)
    }

    /// Reads the ELF of guest binary `bin`.
    pub fn read_guest(&self, bin: &str) -> Result<Vec<u8>, String> {
        let path = self.guest(bin);
        std::fs::read(&path).map_err(|error| {
            format!(
                "cannot read guest binary `{bin}` at {}: {error}",
                path.display()
            )
        })
    }

    /// The expected outputs that do not exist.
    pub fn missing(&self) -> Vec<PathBuf> {
        let guests = GUEST_BINS.iter().map(|bin| self.guest(bin));
        std::iter::once(self.hypervisor())
            .chain(guests)
            .filter(|path| !path.is_file())
            .collect()
    }
}

/// Installs the target if needed, then builds the hypervisor and the guests.
pub fn build(profile: Profile, output: Output) -> Result<Artifacts, String> {
    ensure_target()?;
    let profile_flag: &[&str] = match profile {
        Profile::Release => &["--release"],
        Profile::Debug => &[],
    };
    for (package, extra) in [("hypervisor", &[][..]), ("guest-kernel", &["--bins"][..])] {
        let mut command = cargo();
        command
            .args(["build"])
            .args(profile_flag)
            .args(["-p", package, "--target", TARGET]);
        command.args(extra);
        run_cargo(command, output).map_err(|error| format!("building {package} failed{error}"))?;
    }
    let mut command = cargo();
    crate::user_programs::build(&mut command);
    run_cargo(command, output)
        .map_err(|error| format!("building the user programs failed{error}"))?;
    let artifacts = Artifacts::new(profile);
    if !artifacts.hypervisor().is_file() {
        let path = artifacts.hypervisor();
        return Err(format!("the build did not produce {}", path.display()));
    }
    Ok(artifacts)
}

/// Runs a cargo build; on failure returns the captured output (if any) as a
/// suffix for the error message.
fn run_cargo(mut command: Command, output: Output) -> Result<(), String> {
    command.stdin(Stdio::null());
    let (status, text) = match output {
        Output::Inherit => (command.status(), String::new()),
        Output::Capture => match command.output() {
            Ok(out) => {
                let text =
                    String::from_utf8_lossy(&out.stderr) + String::from_utf8_lossy(&out.stdout);
                (Ok(out.status), text.into_owned())
            }
            Err(error) => (Err(error), String::new()),
        },
    };
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) if text.is_empty() => Err(format!(" ({status})")),
        Ok(status) => Err(format!(" ({status}):\n{}", text.trim_end())),
        Err(error) => Err(format!(": cannot run cargo: {error}")),
    }
}

/// Adds the bare-metal target through rustup when it is not installed yet.
fn ensure_target() -> Result<(), String> {
    let listed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output();
    let listed = match listed {
        Ok(out) if out.status.success() => out,
        Ok(out) => {
            return Err(format!(
                "`rustup target list --installed` failed ({})",
                out.status
            ));
        }
        Err(error) if error.kind() == ErrorKind::NotFound => {
            return Err("rustup not found: install it from https://rustup.rs \
                        (`curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh`)"
                .to_string());
        }
        Err(error) => return Err(format!("cannot run rustup: {error}")),
    };
    if String::from_utf8_lossy(&listed.stdout)
        .lines()
        .any(|line| line.trim() == TARGET)
    {
        return Ok(());
    }
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .status()
        .map_err(|error| format!("cannot run rustup: {error}"))?;
    if !status.success() {
        return Err(format!("`rustup target add {TARGET}` failed ({status})"));
    }
    Ok(())
}
