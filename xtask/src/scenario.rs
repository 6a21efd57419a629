//! What a scenario is: the guests of one QEMU boot, its console input and
//! disk, and what its serial log and exit status must show; and the builder
//! the table in `scenarios.rs` is written with.

use std::time::Duration;

use shared_abi::exit::HvExit;

use crate::artifacts::Artifacts;
use crate::bundle::GuestSpec;
use crate::elf_corrupt::{Corruption, corrupt};
use crate::expect::{Expectation, LineMatch};

/// Time a scenario may run before QEMU is killed.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a guest's ELF image comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageSource {
    /// A guest binary as built.
    Binary(&'static str),
    /// A guest binary with one corruption applied.
    Corrupt(&'static str, Corruption),
}

/// One domain of a scenario.
#[derive(Clone, Debug)]
pub struct Guest {
    pub name: String,
    pub args: String,
    pub image: ImageSource,
}

/// One QEMU boot and what it must show.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub guests: Vec<Guest>,
    /// Extra words for the hypervisor's command line.
    pub cmdline: Vec<String>,
    pub expect: Expectation,
    pub timeout: Duration,
    /// Typed at the console (the end-of-input sequence is appended).
    pub input: Vec<u8>,
    /// Size of a fresh, zeroed disk image to attach (MiB), if any.
    pub disk_mib: Option<u64>,
    /// Use the disk image another scenario left behind, as it is.
    pub disk_from: Option<&'static str>,
    /// Attach the guests' ext2 image (one copy per domain).
    pub ext2: bool,
    /// Kill QEMU (SIGKILL) as soon as its output contains this.
    pub kill_on: Option<&'static str>,
    /// Under TCG, virtual time counts instructions (see `qemu::Boot`).
    pub icount: Option<u8>,
}

impl Scenario {
    pub fn new(name: &'static str, exit: HvExit) -> Self {
        let mut expect = Expectation::new(exit);
        expect.forbidden.push("FAIL".into());
        Self {
            name,
            guests: Vec::new(),
            cmdline: Vec::new(),
            expect,
            timeout: DEFAULT_TIMEOUT,
            input: Vec::new(),
            disk_mib: None,
            disk_from: None,
            ext2: false,
            kill_on: None,
            icount: None,
        }
    }

    pub fn guest(mut self, name: &str, bin: &'static str, args: &str) -> Self {
        self.guests.push(Guest {
            name: name.into(),
            args: args.into(),
            image: ImageSource::Binary(bin),
        });
        self
    }

    pub fn corrupt_guest(mut self, name: &str, bin: &'static str, kind: Corruption) -> Self {
        let image = ImageSource::Corrupt(bin, kind);
        self.guests.push(Guest {
            name: name.into(),
            args: String::new(),
            image,
        });
        self
    }

    pub fn cmdline(mut self, word: &str) -> Self {
        self.cmdline.push(word.into());
        self
    }

    pub fn line(mut self, text: &str) -> Self {
        self.expect.lines.push(text.into());
        self
    }

    pub fn forbid(mut self, text: &str) -> Self {
        self.expect.forbidden.push(text.into());
        self
    }

    /// Requires guest `name` to pass its checks and shut down cleanly.
    pub fn finishes(self, name: &str) -> Self {
        self.line(&format!("[{name}] done"))
            .line(&format!("'{name}' shut down with code 0"))
    }

    pub fn exact(mut self, line: &str) -> Self {
        self.expect.exact.push(line.into());
        self
    }

    pub fn check(mut self, check: crate::expect::LogCheck) -> Self {
        self.expect.checks.push(check);
        self
    }

    /// Virtual time counts instructions, `2^shift` ns each: what the
    /// guests measure of time is then theirs and the hypervisor's alone.
    pub fn instruction_clock(mut self, shift: u8) -> Self {
        self.icount = Some(shift);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn disk(mut self, mib: u64) -> Self {
        self.disk_mib = Some(mib);
        self
    }

    /// Where this scenario's disk image lives.
    pub fn disk_path(&self) -> std::path::PathBuf {
        let name = self.disk_from.unwrap_or(self.name);
        crate::artifacts::target_dir()
            .join("disks")
            .join(format!("{name}.img"))
    }

    pub fn kill_on(mut self, text: &'static str) -> Self {
        self.kill_on = Some(text);
        self.expect.killed = true;
        self
    }

    pub fn reuse_disk(mut self, scenario: &'static str) -> Self {
        self.disk_from = Some(scenario);
        self
    }

    /// Creates this scenario's disk image, if it uses one.
    pub fn disk_image(&self) -> Result<Option<std::path::PathBuf>, (String, Option<String>)> {
        let path = self.disk_path();
        if self.disk_from.is_some() {
            return match path.is_file() {
                true => Ok(Some(path)),
                false => Err((
                    format!(
                        "{} is missing (its scenario must run first)",
                        path.display()
                    ),
                    None,
                )),
            };
        }
        let made = match (self.ext2, self.disk_mib) {
            (true, _) => crate::disk_image::ext2(&path, self.guests.len()),
            (false, Some(mib)) => crate::disk_image::zeroed(&path, mib),
            (false, None) => return Ok(None),
        };
        made.map(|()| Some(path)).map_err(|error| (error, None))
    }

    pub fn ext2_disk(mut self) -> Self {
        self.ext2 = true;
        self
    }

    pub fn input(mut self, text: &[u8]) -> Self {
        self.input = text.to_vec();
        self
    }

    pub fn ordered(mut self, first: LineMatch, second: LineMatch) -> Self {
        self.expect.ordered.push((first, second));
        self
    }

    /// The bundle contents: each guest with its (possibly corrupted) image.
    pub fn guest_specs(&self, artifacts: &Artifacts) -> Result<Vec<GuestSpec>, String> {
        self.guests
            .iter()
            .map(|guest| {
                let image = match guest.image {
                    ImageSource::Binary(bin) => artifacts.read_guest(bin)?,
                    ImageSource::Corrupt(bin, kind) => corrupt(&artifacts.read_guest(bin)?, kind),
                };
                Ok(GuestSpec {
                    name: guest.name.clone(),
                    args: crate::fuzz::expand_args(&guest.args, artifacts)?,
                    image,
                })
            })
            .collect()
    }
}
