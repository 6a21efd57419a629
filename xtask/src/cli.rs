//! Command-line parsing for `cargo xtask`.
//!
//! Arguments are parsed by hand into a [`Command`]; `main` dispatches on it.
//! Options take their value either as the next word (`--accel tcg`) or after
//! an equals sign (`--accel=tcg`).

use std::time::Duration;

use crate::artifacts::Profile;
use crate::fuzz::FuzzOptions;
use crate::qemu::AccelChoice;

/// Usage text printed by `--help`.
pub const USAGE: &str = "\
Build, run and test the microhypervisor under QEMU.

Usage:
  cargo xtask build [--debug]
  cargo xtask run   [--debug] [--accel auto|kvm|tcg] [--mem-per-domain SIZE]
                    [--timeout SECS] [-- HYPERVISOR-CMDLINE-WORDS...]
  cargo xtask test  [--debug] [--accel auto|kvm|tcg] [--filter SUBSTR]
  cargo xtask bench [--accel auto|kvm|tcg] [--timeout SECS]
  cargo xtask fuzz  [--calls N] [--seed S] [--timeout SECS]
  cargo xtask --help

Commands:
  build   Build the hypervisor and the guest binaries for x86_64-unknown-none.
  run     Build, boot two `guest-kernel` domains (alpha, beta) with the serial
          console on this terminal, and exit with the hypervisor's status:
          0 success, 1 a domain failed, 2 hypervisor fault, 3 no domains,
          124 timed out, 125 QEMU exited for another reason.
  test    Run the host unit tests, then every QEMU scenario (TCG unless
          --accel says otherwise), and print `N passed, M failed`.
  bench   Boot the bench guest (KVM when available), print a table of
          median cycle counts and ratios, and write target/bench.json.
  fuzz    Boot the hypercall fuzzer (N random calls from seed S, default
          100000 calls and a seed from the clock) next to a guest that
          measures its CPU share, under TCG; exit 0 only when clean, else
          print the seed and the command that reproduces the run.

Options:
  --debug                Use the debug profile instead of release.
  --accel auto|kvm|tcg   Accelerator; auto picks kvm when /dev/kvm is usable.
  --mem-per-domain SIZE  Memory per domain (e.g. 64M), passed as dom_mem=SIZE.
  --timeout SECS         Kill QEMU after SECS seconds (run: none, bench: 300,
                         fuzz: scaled to N).
  --filter SUBSTR        Only run the scenarios whose name contains SUBSTR.
";

/// What the user asked for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Print [`USAGE`].
    Help,
    /// `cargo xtask build`.
    Build { profile: Profile },
    /// `cargo xtask run`.
    Run(RunOptions),
    /// `cargo xtask test`.
    Test(TestOptions),
    /// `cargo xtask bench`.
    Bench(BenchOptions),
    /// `cargo xtask fuzz`.
    Fuzz(FuzzOptions),
}

/// Options of `cargo xtask bench`.
#[derive(Debug, PartialEq)]
pub struct BenchOptions {
    pub accel: AccelChoice,
    pub timeout: Duration,
}

/// Options of `cargo xtask run`.
#[derive(Debug, PartialEq)]
pub struct RunOptions {
    pub profile: Profile,
    pub accel: AccelChoice,
    pub mem_per_domain: Option<String>,
    pub timeout: Option<Duration>,
    pub extra_cmdline: Vec<String>,
}

/// Options of `cargo xtask test`.
#[derive(Debug, PartialEq)]
pub struct TestOptions {
    pub profile: Profile,
    /// `None` means the test default (TCG).
    pub accel: Option<AccelChoice>,
    pub filter: Option<String>,
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err("no command given (try `cargo xtask --help`)".to_string());
    };
    let mut options = rest.iter().take_while(|arg| *arg != "--");
    if options.any(|arg| arg == "--help" || arg == "-h") {
        return Ok(Command::Help);
    }
    let mut words = Words { rest, index: 0 };
    match command.as_str() {
        "--help" | "-h" | "help" => Ok(Command::Help),
        "build" => {
            let mut profile = Profile::Release;
            while let Some(word) = words.next() {
                match word {
                    "--debug" => profile = Profile::Debug,
                    other => return Err(unknown(other, "build")),
                }
            }
            Ok(Command::Build { profile })
        }
        "run" => {
            let mut options = RunOptions {
                profile: Profile::Release,
                accel: AccelChoice::Auto,
                mem_per_domain: None,
                timeout: None,
                extra_cmdline: Vec::new(),
            };
            while let Some(word) = words.next() {
                match word {
                    "--debug" => options.profile = Profile::Debug,
                    "--accel" => options.accel = parse_accel(&words.value(word)?)?,
                    "--mem-per-domain" => {
                        options.mem_per_domain = Some(parse_size(&words.value(word)?)?)
                    }
                    "--timeout" => options.timeout = Some(parse_seconds(&words.value(word)?)?),
                    "--" => options.extra_cmdline = words.remaining(),
                    other => return Err(unknown(other, "run")),
                }
            }
            Ok(Command::Run(options))
        }
        "test" => {
            let mut options = TestOptions {
                profile: Profile::Release,
                accel: None,
                filter: None,
            };
            while let Some(word) = words.next() {
                match word {
                    "--debug" => options.profile = Profile::Debug,
                    "--accel" => options.accel = Some(parse_accel(&words.value(word)?)?),
                    "--filter" => options.filter = Some(words.value(word)?),
                    other => return Err(unknown(other, "test")),
                }
            }
            Ok(Command::Test(options))
        }
        "bench" => {
            let mut options = BenchOptions {
                accel: AccelChoice::Auto,
                timeout: Duration::from_secs(300),
            };
            while let Some(word) = words.next() {
                match word {
                    "--accel" => options.accel = parse_accel(&words.value(word)?)?,
                    "--timeout" => options.timeout = parse_seconds(&words.value(word)?)?,
                    other => return Err(unknown(other, "bench")),
                }
            }
            Ok(Command::Bench(options))
        }
        "fuzz" => {
            let mut options = FuzzOptions {
                calls: crate::fuzz::DEFAULT_CALLS,
                seed: None,
                timeout: None,
            };
            while let Some(word) = words.next() {
                match word {
                    "--calls" => options.calls = crate::fuzz::parse_calls(&words.value(word)?)?,
                    "--seed" => options.seed = Some(crate::fuzz::parse_seed(&words.value(word)?)?),
                    "--timeout" => options.timeout = Some(parse_seconds(&words.value(word)?)?),
                    other => return Err(unknown(other, "fuzz")),
                }
            }
            Ok(Command::Fuzz(options))
        }
        other => Err(format!(
            "unknown command `{other}` (try `cargo xtask --help`)"
        )),
    }
}

/// A cursor over the words after the command, splitting `--opt=value`.
struct Words<'a> {
    rest: &'a [String],
    index: usize,
}

impl<'a> Words<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let word: &'a String = self.rest.get(self.index)?;
        self.index += 1;
        Some(match word.split_once('=') {
            Some((option, _)) if option.starts_with("--") => option,
            _ => word,
        })
    }

    /// The value of the option just returned by `next`.
    fn value(&mut self, option: &str) -> Result<String, String> {
        let word = &self.rest[self.index - 1];
        if let Some((_, value)) = word.split_once('=') {
            return Ok(value.to_string());
        }
        let value = self
            .rest
            .get(self.index)
            .ok_or(format!("{option} needs a value"))?;
        self.index += 1;
        Ok(value.clone())
    }

    fn remaining(&mut self) -> Vec<String> {
        let words = self.rest[self.index..].to_vec();
        self.index = self.rest.len();
        words
    }
}

fn unknown(word: &str, command: &str) -> String {
    format!("unknown argument `{word}` for `{command}` (try `cargo xtask --help`)")
}

fn parse_accel(value: &str) -> Result<AccelChoice, String> {
    match value {
        "auto" => Ok(AccelChoice::Auto),
        "kvm" => Ok(AccelChoice::Kvm),
        "tcg" => Ok(AccelChoice::Tcg),
        other => Err(format!(
            "invalid --accel `{other}`: expected auto, kvm or tcg"
        )),
    }
}

/// Accepts sizes such as `64M`, `1G`, `4096K` or a plain number of bytes.
fn parse_size(value: &str) -> Result<String, String> {
    let digits = value
        .strip_suffix(['K', 'M', 'G', 'k', 'm', 'g'])
        .unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "invalid --mem-per-domain `{value}`: expected a size like 64M"
        ));
    }
    Ok(value.to_string())
}

fn parse_seconds(value: &str) -> Result<Duration, String> {
    match value.parse::<u64>() {
        Ok(seconds) if seconds > 0 => Ok(Duration::from_secs(seconds)),
        _ => Err(format!(
            "invalid --timeout `{value}`: expected a positive number of seconds"
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
    fn parses_run_options_and_extra_words() {
        let Ok(Command::Run(options)) =
            parse_words("run --accel=kvm --mem-per-domain 64M --timeout 5 -- a=1 --help")
        else {
            panic!("run did not parse");
        };
        assert_eq!(options.accel, AccelChoice::Kvm);
        assert_eq!(options.mem_per_domain.as_deref(), Some("64M"));
        assert_eq!(options.timeout, Some(Duration::from_secs(5)));
        assert_eq!(options.extra_cmdline, ["a=1", "--help"]);
    }

    #[test]
    fn parses_test_and_build() {
        let expected = TestOptions {
            profile: Profile::Release,
            accel: None,
            filter: Some("boot".into()),
        };
        assert_eq!(
            parse_words("test --filter boot"),
            Ok(Command::Test(expected))
        );
        assert_eq!(
            parse_words("build --debug"),
            Ok(Command::Build {
                profile: Profile::Debug
            })
        );
        assert_eq!(parse_words("test --help"), Ok(Command::Help));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse_words("").is_err());
        assert!(parse_words("frobnicate").is_err());
        assert!(parse_words("build --release").is_err());
        assert!(parse_words("run --accel hvf").is_err());
        assert!(parse_words("run --mem-per-domain lots").is_err());
        assert!(parse_words("run --timeout 0").is_err());
        assert!(parse_words("test --filter").is_err());
    }
}
