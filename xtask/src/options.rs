//! The words of a command line, and the options of what boots (`run`,
//! `trace` and `gdb` share them; `test --guest` the guest sources).

use std::path::PathBuf;
use std::time::Duration;

use crate::artifacts::Profile;
use crate::guest_spec::{self, GuestOption};
use crate::qemu::AccelChoice;

/// Where the user's guests come from (`--guest`, `--config`).
#[derive(Debug, Default, PartialEq)]
pub struct GuestSource {
    pub guests: Vec<GuestOption>,
    pub config: Option<PathBuf>,
}

impl GuestSource {
    /// Whether the user named any guest.
    pub fn is_empty(&self) -> bool {
        self.guests.is_empty() && self.config.is_none()
    }

    /// Takes `--config`'s value (one configuration file per command).
    pub fn set_config(&mut self, value: String) -> Result<(), String> {
        if self.config.is_some() {
            return Err("--config given twice: one configuration file per command".to_string());
        }
        self.config = Some(PathBuf::from(value));
        Ok(())
    }

    /// The guests of the configuration file (if any), then the `--guest`s.
    pub fn resolve(&self) -> Result<Vec<GuestOption>, String> {
        let mut guests = Vec::new();
        if let Some(path) = &self.config {
            let bytes = crate::input_file::read_regular(path, crate::input_file::MAX_CONFIG_BYTES)
                .map_err(|why| format!("{}: {why}", path.display()))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("{}: is not UTF-8 text", path.display()))?;
            guests = guest_spec::parse_config(&text, &path.display().to_string())?;
        }
        guests.extend(self.guests.iter().cloned());
        Ok(guests)
    }
}

/// Options of `cargo xtask run`.
#[derive(Debug, PartialEq)]
pub struct RunOptions {
    pub profile: Profile,
    pub accel: AccelChoice,
    /// Bytes.
    pub mem_per_domain: Option<u64>,
    /// Bytes.
    pub machine_mem: Option<u64>,
    pub timeout: Option<Duration>,
    pub guests: GuestSource,
    pub print_qemu: bool,
    /// Leave out the driver domain added when a disk is attached.
    pub no_driver: bool,
    pub extra_cmdline: Vec<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            profile: Profile::Release,
            accel: AccelChoice::Auto,
            mem_per_domain: None,
            machine_mem: None,
            timeout: None,
            guests: GuestSource::default(),
            print_qemu: false,
            no_driver: false,
            extra_cmdline: Vec::new(),
        }
    }
}

/// Takes `word` (and its value) if it is an option of what boots, common
/// to `run` and `gdb`; whether it was one.
pub fn run_option(
    options: &mut RunOptions,
    word: &str,
    words: &mut Words<'_>,
) -> Result<bool, String> {
    match word {
        "--debug" => options.profile = Profile::Debug,
        "--accel" => options.accel = parse_accel(&words.value(word)?)?,
        "--mem-per-domain" => {
            let value = words.value(word)?;
            let bytes = guest_spec::parse_memory(&value)
                .map_err(|error| format!("--mem-per-domain: {error}"))?;
            options.mem_per_domain = Some(bytes);
        }
        "--machine-mem" => options.machine_mem = Some(parse_machine_mem(&words.value(word)?)?),
        "--timeout" => options.timeout = Some(parse_seconds(&words.value(word)?)?),
        "--guest" => options
            .guests
            .guests
            .push(guest_spec::parse_option(&words.value(word)?)?),
        "--config" => options.guests.set_config(words.value(word)?)?,
        "--no-driver" => options.no_driver = true,
        "--" => options.extra_cmdline = words.remaining(),
        _ => return Ok(false),
    }
    Ok(true)
}

/// A cursor over the words after the command, splitting `--opt=value`.
pub struct Words<'a> {
    rest: &'a [String],
    index: usize,
}

impl<'a> Words<'a> {
    /// A cursor at the first of `rest`.
    pub fn new(rest: &'a [String]) -> Self {
        Words { rest, index: 0 }
    }
}

impl<'a> Words<'a> {
    /// The next word (the option's name alone for `--opt=value`).
    pub fn next(&mut self) -> Option<&'a str> {
        let word: &'a String = self.rest.get(self.index)?;
        self.index += 1;
        Some(match word.split_once('=') {
            Some((option, _)) if option.starts_with("--") => option,
            _ => word,
        })
    }

    /// The value of the option just returned by `next`: never empty, and
    /// as a separate word never another option (`--guest --debug` is a
    /// missing value, not a guest named `--debug`; `--expect=--x` passes a
    /// value that starts with dashes).
    pub fn value(&mut self, option: &str) -> Result<String, String> {
        let word = &self.rest[self.index - 1];
        let value = match word.split_once('=') {
            Some((_, value)) if word.starts_with("--") => value.to_string(),
            _ => {
                let value = self
                    .rest
                    .get(self.index)
                    .filter(|value| !value.starts_with("--"))
                    .ok_or(format!("{option} needs a value"))?;
                self.index += 1;
                value.clone()
            }
        };
        match value.is_empty() {
            true => Err(format!("{option} needs a value, not an empty one")),
            false => Ok(value),
        }
    }

    /// Every word not taken yet.
    pub fn remaining(&mut self) -> Vec<String> {
        let words = self.rest[self.index..].to_vec();
        self.index = self.rest.len();
        words
    }
}

/// The error for a word `command` does not take.
pub fn unknown(word: &str, command: &str) -> String {
    format!("unknown argument `{word}` for `{command}` (try `cargo xtask {command} --help`)")
}

/// `--accel`'s value.
pub fn parse_accel(value: &str) -> Result<AccelChoice, String> {
    match value {
        "auto" => Ok(AccelChoice::Auto),
        "kvm" => Ok(AccelChoice::Kvm),
        "tcg" => Ok(AccelChoice::Tcg),
        other => Err(format!(
            "invalid --accel `{other}`: expected auto, kvm or tcg"
        )),
    }
}

/// QEMU's memory: a whole number of MiB, from 64M to the hypervisor's
/// limit.
pub fn parse_machine_mem(value: &str) -> Result<u64, String> {
    use hypervisor::memory_budget::MAX_MACHINE_MEMORY;
    match hypervisor::cmdline::parse_size(value) {
        Some(bytes) if bytes % (1 << 20) != 0 => Err(format!(
            "invalid --machine-mem `{value}`: not a whole number of MiB"
        )),
        Some(bytes) if ((64 << 20)..=MAX_MACHINE_MEMORY).contains(&bytes) => Ok(bytes),
        _ => Err(format!(
            "invalid --machine-mem `{value}`: expected a size from 64M to {}G",
            MAX_MACHINE_MEMORY >> 30
        )),
    }
}

/// Longest `--timeout`: a week.
pub const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 3600;

/// `--timeout`'s value: a number of seconds from 1 to [`MAX_TIMEOUT_SECS`].
pub fn parse_seconds(value: &str) -> Result<Duration, String> {
    match value.parse::<u64>() {
        Ok(seconds) if (1..=MAX_TIMEOUT_SECS).contains(&seconds) => {
            Ok(Duration::from_secs(seconds))
        }
        _ => Err(format!(
            "invalid --timeout `{value}`: expected 1 to {MAX_TIMEOUT_SECS} seconds"
        )),
    }
}
