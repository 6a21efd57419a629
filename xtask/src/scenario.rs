//! What a scenario is: the guests of one QEMU boot, its console input and
//! disk, and what its serial log and exit status must show; and the builder
//! the table in `scenarios.rs` is written with.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use shared_abi::bundle::EntryExtras;
use shared_abi::emulation::Mode;

use shared_abi::exit::HvExit;

use crate::artifacts::Artifacts;
use crate::bundle::GuestSpec;
use crate::disk_image::Region;
use crate::elf_corrupt::{Corruption, corrupt};
use crate::expect::{Expectation, LineMatch};
use crate::gdb_scenario::Debugging;

/// Time a scenario may run before QEMU is killed.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a guest's ELF image comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ImageSource {
    /// A guest binary as built.
    Binary(&'static str),
    /// A guest binary with one corruption applied.
    Corrupt(&'static str, Corruption),
    /// An ELF file built outside this workspace.
    File(std::path::PathBuf),
}

/// One domain of a scenario.
#[derive(Clone, Debug)]
pub struct Guest {
    pub name: String,
    pub args: String,
    pub image: ImageSource,
    /// Memory in bytes (`None`: the hypervisor's `dom_mem`).
    pub mem: Option<u64>,
    /// Its disk region as (first sector, sectors), whether or not it lies
    /// on the disk (`None`: the hypervisor's `dom_disk` layout).
    pub disk_region: Option<(u64, u64)>,
    /// How its privileged instructions are served.
    pub mode: Mode,
    /// The driver domain (given the physical disk; no virtual disk).
    pub driver: bool,
    /// The hypervisor restarts it when it stops it.
    pub restart: bool,
}

/// A check of what a passed boot left behind: what to print after `ok:`,
/// or why it failed.
pub type AfterCheck = fn(&Scenario) -> Result<String, String>;

/// One QEMU boot and what it must show.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub guests: Vec<Guest>,
    /// Extra words for the hypervisor's command line.
    pub cmdline: Vec<String>,
    pub expect: Expectation,
    pub timeout: Duration,
    /// Typed at the console (the end-of-input sequence is appended unless
    /// the boot is killed).
    pub input: Vec<u8>,
    /// Typed only once the output contains this (else at once).
    pub input_after: Option<&'static str>,
    /// Size of a fresh, zeroed disk image to attach (MiB), if any.
    pub disk_mib: Option<u64>,
    /// Use the disk image another scenario left behind, as it is.
    pub disk_from: Option<&'static str>,
    /// Attach the guests' ext2 image (one copy per domain).
    pub ext2: bool,
    /// Attach a filesystem image with these regions, one per domain.
    pub regions: Vec<Region>,
    /// Kill QEMU (SIGKILL) as soon as its output contains this.
    pub kill_on: Option<&'static str>,
    /// How fast the test reads QEMU's serial output.
    pub pace: crate::qemu::ReadPace,
    /// Run before the bundle is written (to build an image from a file).
    pub prepare: Option<fn() -> Result<(), String>>,
    /// Runs only when asked for (`cargo xtask test --long`).
    pub long: bool,
    /// Under TCG, virtual time counts instructions (see `qemu::Boot`).
    pub icount: Option<u8>,
    /// A file for QEMU's debug console (a traced boot writes its trace).
    pub debugcon: Option<std::path::PathBuf>,
    /// Checks what the boot left behind once it passed (a trace, say);
    /// returns what to print after `ok:`.
    pub after: Option<AfterCheck>,
    /// gdb sessions run against the machine while it runs.
    pub debugging: Option<Box<Debugging>>,
    /// Leave out the driver domain added when a disk is attached.
    pub no_driver: bool,
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
            input_after: None,
            disk_mib: None,
            disk_from: None,
            ext2: false,
            regions: Vec::new(),
            kill_on: None,
            pace: crate::qemu::ReadPace::Eager,
            prepare: None,
            long: false,
            icount: None,
            debugcon: None,
            after: None,
            debugging: None,
            no_driver: false,
        }
    }

    /// Reads the serial output as a slow terminal would.
    pub fn slow_reader(mut self) -> Self {
        self.pace = crate::qemu::ReadPace::Slow;
        self
    }

    pub fn guest(mut self, name: &str, bin: &'static str, args: &str) -> Self {
        self.guests.push(Guest {
            name: name.into(),
            args: args.into(),
            image: ImageSource::Binary(bin),
            mem: None,
            disk_region: None,
            mode: Mode::Paravirtual,
            driver: false,
            restart: false,
        });
        self
    }

    /// The driver domain `name`, booting guest binary `bin`: it is given
    /// the physical disk (attach one with [`Scenario::disk`]) and has no
    /// virtual disk.
    pub fn driver(mut self, name: &str, bin: &'static str, args: &str) -> Self {
        self = self.guest(name, bin, args);
        if let Some(guest) = self.guests.last_mut() {
            guest.driver = true;
        }
        self
    }

    /// A guest whose image is the ELF file at `path`.
    pub fn file_guest(mut self, name: &str, path: std::path::PathBuf, args: &str) -> Self {
        self.guests.push(Guest {
            name: name.into(),
            args: args.into(),
            image: ImageSource::File(path),
            mem: None,
            disk_region: None,
            mode: Mode::Paravirtual,
            driver: false,
            restart: false,
        });
        self
    }

    /// Runs `prepare` before the bundle is written; its error fails the
    /// scenario.
    pub fn prepare(mut self, prepare: fn() -> Result<(), String>) -> Self {
        self.prepare = Some(prepare);
        self
    }

    /// `count` domains `NAME-1` .. `NAME-count` of `bin`, each with `mem`
    /// bytes, each of which must shut down with code 0.
    pub fn guests(mut self, name: &str, bin: &'static str, count: u32, mem: u64) -> Self {
        for index in 1..=count {
            let name = format!("{name}-{index}");
            self.expect
                .lines
                .push(format!("'{name}' shut down with code 0"));
            self.guests.push(Guest {
                name,
                args: String::new(),
                image: ImageSource::Binary(bin),
                mem: Some(mem),
                disk_region: None,
                mode: Mode::Paravirtual,
                driver: false,
                restart: false,
            });
        }
        self
    }

    /// Gives the guest added last `bytes` of memory in its bundle entry,
    /// whether or not the hypervisor accepts that size.
    pub fn mem(mut self, bytes: u64) -> Self {
        if let Some(guest) = self.guests.last_mut() {
            guest.mem = Some(bytes);
        }
        self
    }

    /// Runs the guest added last in execution mode `mode`.
    pub fn mode(mut self, mode: Mode) -> Self {
        if let Some(guest) = self.guests.last_mut() {
            guest.mode = mode;
        }
        self
    }

    /// Makes the guest added last restartable (bundle flag `FLAG_RESTART`).
    pub fn restart(mut self) -> Self {
        if let Some(guest) = self.guests.last_mut() {
            guest.restart = true;
        }
        self
    }

    /// Gives the guest added last the disk region `sectors` from `first`
    /// in its bundle entry, whether or not the disk has it.
    pub fn disk_region(mut self, first: u64, sectors: u64) -> Self {
        if let Some(guest) = self.guests.last_mut() {
            guest.disk_region = Some((first, sectors));
        }
        self
    }

    /// Runs only with `cargo xtask test --long`, and may take `timeout`.
    pub fn long(mut self, timeout: Duration) -> Self {
        self.long = true;
        self.timeout = timeout;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn corrupt_guest(mut self, name: &str, bin: &'static str, kind: Corruption) -> Self {
        let image = ImageSource::Corrupt(bin, kind);
        self.guests.push(Guest {
            name: name.into(),
            args: String::new(),
            image,
            mem: None,
            disk_region: None,
            mode: Mode::Paravirtual,
            driver: false,
            restart: false,
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

    /// Requires the hypervisor's report that domain `name` was stopped,
    /// with `cause` ending the same line.
    pub fn stopped(mut self, name: &str, cause: &str) -> Self {
        self.expect
            .reports
            .push((format!("'{name}' stopped at rip 0x"), format!(": {cause}")));
        self
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

    /// Runs gdb sessions against the machine (see `gdb_scenario`).
    pub fn debugger(mut self, debugging: Debugging) -> Self {
        self.debugging = Some(Box::new(debugging));
        self
    }

    /// Boots without the driver domain `default_driver` adds when a disk
    /// is attached (the disk then has no backend).
    pub fn no_driver(mut self) -> Self {
        self.no_driver = true;
        self
    }

    /// Whether a disk image is attached.
    fn attaches_disk(&self) -> bool {
        self.disk_mib.is_some() || self.disk_from.is_some() || self.ext2 || !self.regions.is_empty()
    }

    /// Whether the boot gets the driver domain of `default_driver` as its
    /// last domain.
    pub fn adds_driver(&self) -> bool {
        !self.no_driver && !self.guests.iter().any(|g| g.driver)
    }

    pub fn disk(mut self, mib: u64) -> Self {
        self.disk_mib = Some(mib);
        self
    }

    /// Where this scenario's disk image lives.
    pub fn disk_path(&self) -> std::path::PathBuf {
        let name = self.disk_from.unwrap_or(self.name);
        crate::paths::target_dir()
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
        if !self.regions.is_empty() {
            let random =
                crate::disk_image::regions(&path, &self.regions).map_err(|error| (error, None))?;
            let record: String = random
                .iter()
                .filter_map(|(region, hit)| {
                    let (kind, seed) = match region {
                        Region::Random(seed) => ("ext2", seed),
                        Region::RandomExt4(seed) => ("ext4", seed),
                        _ => return None,
                    };
                    Some(format!("{kind} seed {seed} hit {}\n", hit.join(" ")))
                })
                .collect();
            std::fs::write(path.with_extension("damage"), record)
                .map_err(|error| (format!("cannot record the damage: {error}"), None))?;
            return Ok(Some(path));
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

    /// Attaches a disk of test-tree filesystems, one region per entry (in
    /// domain order), each region `LARGE_REGION_BYTES`.
    pub fn regions(mut self, regions: &[Region]) -> Self {
        self.regions = regions.to_vec();
        let size = crate::disk_image::LARGE_REGION_BYTES >> 20;
        self.cmdline(&format!("dom_disk={size}M"))
    }

    pub fn input(mut self, text: &[u8]) -> Self {
        self.input = text.to_vec();
        self
    }

    /// Types the input only once the output contains `text`.
    pub fn input_after(mut self, text: &'static str) -> Self {
        self.input_after = Some(text);
        self
    }

    pub fn ordered(mut self, first: LineMatch, second: LineMatch) -> Self {
        self.expect.ordered.push((first, second));
        self
    }

    /// The bundle contents: each guest with its (possibly corrupted) image,
    /// guests of the same image sharing it, after running the scenario's
    /// `prepare` step.
    pub fn guest_specs(&self, artifacts: &Artifacts) -> Result<Vec<GuestSpec>, String> {
        if let Some(prepare) = self.prepare {
            prepare()?;
        }
        let mut images: HashMap<&ImageSource, Arc<[u8]>> = HashMap::new();
        let mut specs = self
            .guests
            .iter()
            .map(|guest| {
                let image = match images.get(&guest.image) {
                    Some(image) => image.clone(),
                    None => {
                        let image: Arc<[u8]> = match &guest.image {
                            ImageSource::Binary(bin) => artifacts.read_guest(bin)?,
                            ImageSource::Corrupt(bin, kind) => {
                                corrupt(&artifacts.read_guest(bin)?, *kind)
                            }
                            ImageSource::File(path) => std::fs::read(path).map_err(|error| {
                                format!("cannot read guest image {}: {error}", path.display())
                            })?,
                        }
                        .into();
                        images.insert(&guest.image, image.clone());
                        image
                    }
                };
                Ok(GuestSpec {
                    name: guest.name.clone(),
                    args: crate::fuzz_targets::expand_args(&guest.args, artifacts)?,
                    image,
                    extras: EntryExtras {
                        memory: guest.mem.unwrap_or(0),
                        disk_first: guest.disk_region.map_or(0, |(first, _)| first),
                        disk_sectors: guest.disk_region.map_or(0, |(_, sectors)| sectors),
                        mode: guest.mode,
                        driver: guest.driver,
                        restart: guest.restart,
                        ..EntryExtras::default()
                    },
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        if self.adds_driver() {
            let driver = crate::default_driver::spec(artifacts, &specs, self.attaches_disk())?;
            specs.push(driver);
        }
        Ok(specs)
    }

    /// Each domain's memory, for sizing the machine.
    pub fn domain_memory(&self) -> Vec<u64> {
        let words = self.cmdline.join(" ");
        let default = hypervisor::cmdline::parse(&words, |_| {}).domain_memory;
        let driver = self.adds_driver().then_some(default);
        self.guests
            .iter()
            .map(|guest| guest.mem.unwrap_or(default))
            .chain(driver)
            .collect()
    }
}
