//! The hypervisor command line (QEMU `-append`): space-separated `key=value`
//! words.
//!
//! | word | meaning | default |
//! |------|---------|---------|
//! | `dom_mem=SIZE` | guest-physical memory per domain (`K`, `M`, `G` suffixes) | `16M` |
//! | `loglevel=LEVEL` | `error`, `warn`, `info`, `debug` or `trace` | `info` |
//! | `hv_selftest=fault` | fault inside the hypervisor after boot (tests the fatal path) | off |
//! | `hv_bench` | answer the bench fault probe (see `shared_abi::bench`) | off |
//! | `console_color` | colour each domain's console prefix (ANSI) | off |
//! | `trace` or `trace=N` | record up to N events (default 262144, at most 16M) and write them to QEMU's debug console at the end | off |
//! | `dom_disk=SIZE` | each domain's region of the physical disk | `4M` |
//! | `umip=on\|off` | CR4.UMIP, when the CPU has it: `off` lets ring 3 run `sgdt`, `sidt`, `sldt`, `smsw` and `str` (to show that hole) | `on` |
//! | `gdb=NAME` or `gdb=ID` | serve the GDB remote protocol for that domain on COM2, holding it before its first instruction | off |
//!
//! A bundle entry's own memory size or disk region takes precedence over
//! `dom_mem` and `dom_disk` for that domain. Unknown words are reported and
//! ignored, never fatal (`cargo xtask run` refuses them before booting).

use shared_abi::start_info::NAME_LEN;

/// Default memory per domain.
pub const DEFAULT_DOMAIN_MEMORY: u64 = 16 << 20;
/// Default disk region per domain.
pub const DEFAULT_DOMAIN_DISK: u64 = 4 << 20;

/// Records the tracer keeps by default (10 MiB of records).
pub const DEFAULT_TRACE_RECORDS: usize = 262_144;
/// Most records the tracer may be asked to keep (640 MiB of records).
pub const MAX_TRACE_RECORDS: usize = 16 << 20;

/// Smallest memory a domain may be given.
pub const MIN_DOMAIN_MEMORY: u64 = 1 << 20;
/// Largest memory a domain may be given.
pub const MAX_DOMAIN_MEMORY: u64 = 4 << 30;

/// A self-test the hypervisor runs instead of its guests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelfTest {
    /// Dereference an unmapped address in ring 0.
    Fault,
}

/// Parsed options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Bytes of memory per domain.
    pub domain_memory: u64,
    /// Most verbose level logged.
    pub log_level: log::LevelFilter,
    /// A self-test to run, if any.
    pub self_test: Option<SelfTest>,
    /// Whether the bench fault probe is answered.
    pub bench: bool,
    /// Whether console prefixes are coloured.
    pub console_color: bool,
    /// Records the tracer keeps, when tracing.
    pub trace: Option<usize>,
    /// Bytes of the physical disk per domain.
    pub domain_disk: u64,
    /// Whether CR4.UMIP is turned on (when the CPU has it).
    pub umip: bool,
    /// The domain a debugger attaches to (`gdb=`).
    pub debug_domain: Option<DomainRef>,
}

/// A domain named on the command line, by name or by identifier: a name
/// of a domain if one has it, else (all digits) an identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainRef {
    bytes: [u8; NAME_LEN],
    len: usize,
}

impl DomainRef {
    /// `text` if it could name a domain: 1 to 32 letters, digits, `-`,
    /// `_` or `.`.
    pub fn parse(text: &str) -> Option<Self> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-_.".contains(&b);
        if text.is_empty() || text.len() > NAME_LEN || !text.bytes().all(allowed) {
            return None;
        }
        let mut bytes = [0u8; NAME_LEN];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Some(Self {
            bytes,
            len: text.len(),
        })
    }

    /// The word as given.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }

    /// The identifier of the domain this names among `(id, name)` pairs:
    /// the one with this name, else the one with this identifier.
    pub fn select<'a>(&self, domains: impl Iterator<Item = (u32, &'a str)> + Clone) -> Option<u32> {
        let by_name = domains.clone().find(|(_, name)| *name == self.as_str());
        let id = self.as_str().parse::<u32>().ok();
        by_name
            .or_else(|| domains.clone().find(|(each, _)| Some(*each) == id))
            .map(|(id, _)| id)
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            domain_memory: DEFAULT_DOMAIN_MEMORY,
            log_level: log::LevelFilter::Info,
            self_test: None,
            bench: false,
            console_color: false,
            trace: None,
            domain_disk: DEFAULT_DOMAIN_DISK,
            umip: true,
            debug_domain: None,
        }
    }
}

/// A word that could not be used, for the caller to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected<'a> {
    /// The word as given.
    pub word: &'a str,
    /// Why it was ignored.
    pub reason: &'static str,
}

/// Parses `cmdline`, calling `reject` for each word it ignores.
pub fn parse<'a>(cmdline: &'a str, mut reject: impl FnMut(Rejected<'a>)) -> Options {
    let mut options = Options::default();
    for word in cmdline.split_ascii_whitespace() {
        let (key, value) = word.split_once('=').unwrap_or((word, ""));
        let result = match key {
            "dom_mem" => parse_size(value)
                .filter(|size| (MIN_DOMAIN_MEMORY..=MAX_DOMAIN_MEMORY).contains(size))
                .map(|size| options.domain_memory = size & !0xfff)
                .ok_or("expected a size from 1M to 4G, like 16M"),
            "dom_disk" => parse_size(value)
                .filter(|size| *size >= 512)
                .map(|size| options.domain_disk = size & !511)
                .ok_or("expected a size of at least 512 bytes, like 4M"),
            "loglevel" => value
                .parse::<log::LevelFilter>()
                .map(|level| options.log_level = level)
                .map_err(|_| "expected error, warn, info, debug or trace"),
            "hv_selftest" if value == "fault" => {
                options.self_test = Some(SelfTest::Fault);
                Ok(())
            }
            "hv_selftest" => Err("the only self-test is 'fault'"),
            "hv_bench" if value.is_empty() => {
                options.bench = true;
                Ok(())
            }
            "console_color" if value.is_empty() => {
                options.console_color = true;
                Ok(())
            }
            "umip" => match value {
                "on" | "off" => {
                    options.umip = value == "on";
                    Ok(())
                }
                _ => Err("expected on or off"),
            },
            "trace" if value.is_empty() => {
                options.trace = Some(DEFAULT_TRACE_RECORDS);
                Ok(())
            }
            "trace" => value
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_TRACE_RECORDS).contains(n))
                .map(|n| options.trace = Some(n))
                .ok_or("expected a record count from 1 to 16777216"),
            "gdb" => DomainRef::parse(value)
                .map(|domain| options.debug_domain = Some(domain))
                .ok_or("expected a domain name or identifier, like gdb=alpha or gdb=1"),
            _ => Err("unknown option"),
        };
        if let Err(reason) = result {
            reject(Rejected { word, reason });
        }
    }
    options
}

/// Parses `16M`, `512K`, `1G` or a plain byte count.
pub fn parse_size(text: &str) -> Option<u64> {
    let (digits, shift) = match text.as_bytes().last()? {
        b'K' | b'k' => (&text[..text.len() - 1], 10),
        b'M' | b'm' => (&text[..text.len() - 1], 20),
        b'G' | b'g' => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    let value: u64 = digits.parse().ok()?;
    value.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn trace_takes_a_sane_record_count_or_none() {
        let mut rejected = Vec::new();
        assert_eq!(parse("trace", |_| {}).trace, Some(DEFAULT_TRACE_RECORDS));
        assert_eq!(parse("trace=1000", |_| {}).trace, Some(1000));
        for bad in ["trace=0", "trace=-1", "trace=lots", "trace=99999999999"] {
            assert_eq!(parse(bad, |r| rejected.push(r.word)).trace, None);
        }
        assert_eq!(rejected.len(), 4);
    }

    #[test]
    fn parses_known_words_and_reports_the_rest() {
        let mut rejected = Vec::new();
        let options = parse(
            "dom_mem=8M loglevel=debug bogus dom_mem=3T hv_selftest=fault",
            |r| rejected.push(r.word),
        );
        assert_eq!(options.domain_memory, 8 << 20);
        assert_eq!(options.log_level, log::LevelFilter::Debug);
        assert_eq!(options.self_test, Some(SelfTest::Fault));
        assert_eq!(options.trace, None);
        assert!(options.umip);
        assert_eq!(rejected, ["bogus", "dom_mem=3T"]);
        let mut rejected = Vec::new();
        assert!(!parse("umip=off umip=maybe", |r| rejected.push(r.word)).umip);
        assert_eq!(rejected, ["umip=maybe"]);
    }

    #[test]
    fn names_the_domain_to_debug() {
        let options = parse("gdb=alpha", |_| panic!("rejected"));
        let domain = options.debug_domain.unwrap();
        assert_eq!(domain.as_str(), "alpha");
        let domains = [(1, "beta"), (2, "alpha"), (3, "1")];
        assert_eq!(domain.select(domains.iter().copied()), Some(2));
        let by_id = DomainRef::parse("2").unwrap();
        assert_eq!(by_id.select(domains.iter().copied()), Some(2));
        // A domain named "1" wins over the domain whose identifier is 1.
        let named = DomainRef::parse("1").unwrap();
        assert_eq!(named.select(domains.iter().copied()), Some(3));
        let missing = DomainRef::parse("gamma").unwrap();
        assert_eq!(missing.select(domains.iter().copied()), None);
        let mut rejected = Vec::new();
        let long = "x".repeat(33);
        let line = std::format!("gdb= gdb=a/b gdb={long} gdb");
        let options = parse(&line, |r| rejected.push(r.word));
        assert_eq!(options.debug_domain, None);
        assert_eq!(rejected.len(), 4);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16M"), Some(16 << 20));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("99999999999999G"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("M"), None);
    }

    #[test]
    fn out_of_range_memory_keeps_the_default() {
        let options = parse("dom_mem=4K", |_| {});
        assert_eq!(options.domain_memory, DEFAULT_DOMAIN_MEMORY);
    }
}
