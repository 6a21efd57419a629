//! Guests the user built: the `--guest PATH[,key=value...]` option and the
//! `[[guest]]` tables of a `--config` file, parsed into [`GuestOption`]s.
//!
//! Every value is checked here, with one line naming the guest and the
//! problem; nothing is replaced by a default. Images are checked later, by
//! [`crate::guest_check`], once every option has parsed.

use std::path::PathBuf;

use hypervisor::cmdline::{MAX_DOMAIN_MEMORY, MIN_DOMAIN_MEMORY, parse_size};
use shared_abi::bundle::MAX_ENTRIES;
use shared_abi::emulation::Mode;
use shared_abi::start_info::{ARGS_LEN, NAME_LEN};

/// The keys `--guest` and `[[guest]]` accept.
pub const KEYS: [&str; 9] = [
    "path", "name", "mem", "count", "mode", "args", "disk", "driver", "restart",
];

/// One guest as the user gave it: a path and what to boot it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestOption {
    /// The ELF image.
    pub path: PathBuf,
    /// The domain name (with `count`, the stem of `NAME-1` .. `NAME-N`).
    pub name: String,
    /// Memory in bytes; `None`: `--mem-per-domain` or the hypervisor's default.
    pub mem: Option<u64>,
    /// How many domains boot this image.
    pub count: u32,
    /// The argument string.
    pub args: String,
    /// A raw disk image the domain reads and writes.
    pub disk: Option<PathBuf>,
    /// How its privileged instructions are served (`mode=pv|emulate|patch`).
    pub mode: Mode,
    /// The driver domain (`driver=yes|no`): given the physical disk.
    pub driver: bool,
    /// Restarted by the hypervisor when it stops it (`restart=yes|no`).
    pub restart: bool,
}

impl GuestOption {
    /// A guest booting `path`, named after the file.
    fn new(path: PathBuf) -> Self {
        let name = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self {
            path,
            name,
            mem: None,
            count: 1,
            args: String::new(),
            disk: None,
            mode: Mode::Paravirtual,
            driver: false,
            restart: false,
        }
    }

    /// How the messages about this guest name it.
    pub fn label(&self) -> String {
        format!("guest `{}` ({})", self.name, self.path.display())
    }

    /// Sets `key` to `value`, checking the value.
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "name" => self.name = value.to_string(),
            "mem" => self.mem = Some(parse_memory(value)?),
            "count" => self.count = parse_count(value)?,
            "mode" => {
                self.mode = Mode::from_name(value)
                    .ok_or_else(|| format!("mode `{value}` is not one of pv, emulate, patch"))?
            }
            "args" => self.args = value.to_string(),
            "disk" if value.is_empty() => return Err("disk= needs a path".to_string()),
            "disk" => self.disk = Some(PathBuf::from(value)),
            "driver" => {
                self.driver = match value {
                    "yes" => true,
                    "no" => false,
                    _ => return Err(format!("driver `{value}` is not yes or no")),
                }
            }
            "restart" => {
                self.restart = match value {
                    "yes" => true,
                    "no" => false,
                    _ => return Err(format!("restart `{value}` is not yes or no")),
                }
            }
            other => {
                return Err(format!(
                    "unknown key `{other}` (keys: {})",
                    KEYS[1..].join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Checks what depends on several keys: the names the domains get, the
    /// argument length, a disk with a count.
    fn finish(self) -> Result<Self, String> {
        let label = self.label();
        let longest = match self.count {
            1 => self.name.clone(),
            n => format!("{}-{n}", self.name),
        };
        if self.name.is_empty() {
            return Err(format!("{label}: the name is empty"));
        }
        if let Some(bad) = self
            .name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(format!(
                "{label}: the name may hold only letters, digits, `-`, `_` and `.`, not `{bad}`"
            ));
        }
        if longest.len() > NAME_LEN {
            return Err(format!(
                "{label}: domain name `{longest}` is longer than {NAME_LEN} bytes"
            ));
        }
        if self.args.len() > ARGS_LEN {
            return Err(format!(
                "{label}: args are {} bytes, at most {ARGS_LEN}",
                self.args.len()
            ));
        }
        if self.driver && self.count > 1 {
            return Err(format!(
                "{label}: driver=yes makes one driver domain; it cannot go with count={}",
                self.count
            ));
        }
        if self.driver && self.disk.is_some() {
            return Err(format!(
                "{label}: a driver domain owns the physical disk; it cannot have disk="
            ));
        }
        if self.driver && self.mode != Mode::Paravirtual {
            return Err(format!(
                "{label}: the driver domain reaches COM1's ports directly; it cannot have mode={}",
                self.mode.name()
            ));
        }
        if self.disk.is_some() && self.count > 1 {
            return Err(format!(
                "{label}: disk= gives one image to one domain; it cannot go with count={}",
                self.count
            ));
        }
        Ok(self)
    }

    /// The names of the domains this option boots.
    pub fn domain_names(&self) -> Vec<String> {
        match self.count {
            1 => vec![self.name.clone()],
            n => (1..=n).map(|i| format!("{}-{i}", self.name)).collect(),
        }
    }
}

/// Parses `PATH[,name=NAME][,mem=SIZE][,count=N][,mode=MODE][,disk=IMAGE][,driver=yes|no][,restart=yes|no][,args=STRING]`.
/// `args=` takes the rest of the text, commas included, so it comes last.
pub fn parse_option(text: &str) -> Result<GuestOption, String> {
    let (path, mut rest) = text.split_once(',').unwrap_or((text, ""));
    if path.is_empty() {
        return Err(format!("--guest `{text}`: the path is missing"));
    }
    let mut guest = GuestOption::new(PathBuf::from(path));
    let mut seen = Vec::new();
    while !rest.is_empty() {
        let (key, value_and_rest) = rest
            .split_once('=')
            .ok_or_else(|| format!("{}: `{rest}` is not key=value", guest.label()))?;
        if seen.contains(&key) {
            return Err(format!("{}: key `{key}` given twice", guest.label()));
        }
        seen.push(key);
        let (value, next) = match key {
            "args" => (value_and_rest, ""),
            _ => value_and_rest
                .split_once(',')
                .unwrap_or((value_and_rest, "")),
        };
        guest
            .set(key, value)
            .map_err(|error| format!("{}: {error}", guest.label()))?;
        rest = next;
    }
    guest.finish()
}

/// Parses the `[[guest]]` tables of a configuration file; `file` names it
/// in messages. Relative paths (`path`, `disk`) are taken from the file's
/// own directory.
pub fn parse_config(text: &str, file: &str) -> Result<Vec<GuestOption>, String> {
    let dir = std::path::Path::new(file)
        .parent()
        .unwrap_or(std::path::Path::new(""));
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Config {
        guest: Vec<Table>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Table {
        path: String,
        name: Option<String>,
        mem: Option<toml::Value>,
        count: Option<toml::Value>,
        mode: Option<String>,
        args: Option<String>,
        disk: Option<String>,
        driver: Option<toml::Value>,
        restart: Option<toml::Value>,
    }
    let config: Config = toml::from_str(text).map_err(|error| {
        let message = error.message().trim_end().to_string();
        match error.span() {
            Some(span) => {
                let line = text[..span.start].matches('\n').count() + 1;
                format!("{file}:{line}: {message}")
            }
            None => format!("{file}: {message}"),
        }
    })?;
    if config.guest.is_empty() {
        return Err(format!("{file}: no [[guest]] table"));
    }
    config
        .guest
        .into_iter()
        .map(|table| {
            let mut guest = GuestOption::new(dir.join(&table.path));
            let values = [
                ("name", table.name.map(toml::Value::String)),
                ("mem", table.mem),
                ("count", table.count),
                ("mode", table.mode.map(toml::Value::String)),
                ("args", table.args.map(toml::Value::String)),
                (
                    "disk",
                    table
                        .disk
                        .map(|disk| toml::Value::String(dir.join(disk).display().to_string())),
                ),
                ("driver", table.driver),
                ("restart", table.restart),
            ];
            for (key, value) in values {
                let Some(value) = value else { continue };
                let text = match value {
                    toml::Value::String(text) => text,
                    toml::Value::Integer(number) => number.to_string(),
                    toml::Value::Boolean(yes) if key == "driver" || key == "restart" => {
                        if yes { "yes" } else { "no" }.to_string()
                    }
                    other => {
                        return Err(format!(
                            "{file}: {}: {key} must be a string or an integer, not {}",
                            guest.label(),
                            other.type_str()
                        ));
                    }
                };
                guest
                    .set(key, &text)
                    .map_err(|error| format!("{file}: {}: {error}", guest.label()))?;
            }
            guest.finish().map_err(|error| format!("{file}: {error}"))
        })
        .collect()
}

/// A domain's memory: a size from 1M to 4G in whole pages.
pub fn parse_memory(value: &str) -> Result<u64, String> {
    let bytes =
        parse_size(value).ok_or_else(|| format!("mem `{value}` is not a size like 64M or 1G"))?;
    if !(MIN_DOMAIN_MEMORY..=MAX_DOMAIN_MEMORY).contains(&bytes) {
        return Err(format!("mem `{value}` is outside 1M..4G"));
    }
    if bytes % 4096 != 0 {
        return Err(format!(
            "mem `{value}` is not a whole number of 4 KiB pages"
        ));
    }
    Ok(bytes)
}

/// A domain count from 1 to the bundle's limit.
fn parse_count(value: &str) -> Result<u32, String> {
    match value.parse::<u64>() {
        Ok(count) if (1..=u64::from(MAX_ENTRIES)).contains(&count) => Ok(count as u32),
        _ => Err(format!(
            "count `{value}` is not a number from 1 to {MAX_ENTRIES}"
        )),
    }
}

/// Checks that the guests together fit one bundle and that no two domains
/// share a name.
pub fn check_together(guests: &[GuestOption]) -> Result<(), String> {
    let total: u64 = guests.iter().map(|guest| u64::from(guest.count)).sum();
    if total > u64::from(MAX_ENTRIES) {
        return Err(format!(
            "the guests make {total} domains; a bundle holds at most {MAX_ENTRIES}"
        ));
    }
    let mut disks = std::collections::HashSet::new();
    for guest in guests {
        if let Some(disk) = &guest.disk {
            let key = std::fs::canonicalize(disk).unwrap_or_else(|_| {
                let current = std::path::Component::CurDir;
                disk.components().filter(|part| *part != current).collect()
            });
            if !disks.insert(key) {
                return Err(format!(
                    "{}: disk image {} is already another domain's disk",
                    guest.label(),
                    disk.display()
                ));
            }
        }
    }
    let drivers: Vec<_> = guests.iter().filter(|guest| guest.driver).collect();
    if let [_, second, ..] = drivers[..] {
        return Err(format!(
            "{}: driver=yes a second time; there is one driver domain",
            second.label()
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for guest in guests {
        for name in guest.domain_names() {
            if !seen.insert(name.clone()) {
                return Err(format!(
                    "{}: domain name `{name}` is used twice (give name=)",
                    guest.label()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let guest = parse_option("/x/kern.elf,name=k,mem=4M,count=3,args=a=1,b c").unwrap();
        assert_eq!(guest.path, PathBuf::from("/x/kern.elf"));
        assert_eq!(guest.name, "k");
        assert_eq!(guest.mem, Some(4 << 20));
        assert_eq!(guest.count, 3);
        assert_eq!(guest.args, "a=1,b c");
        assert_eq!(guest.domain_names(), ["k-1", "k-2", "k-3"]);
        assert_eq!(guest.mode, Mode::Paravirtual);
        let guest = parse_option("k,mode=patch").unwrap();
        assert_eq!(guest.mode, Mode::Patch);
        assert!(!guest.driver);
        let guest = parse_option("k,driver=yes,mem=8M").unwrap();
        assert!(guest.driver);
        assert!(!parse_option("k,driver=no").unwrap().driver);
        assert!(!guest.restart);
        assert!(parse_option("k,restart=yes").unwrap().restart);
        assert!(!parse_option("k,restart=no").unwrap().restart);
        let guest = parse_option("dir/hello,disk=d.img").unwrap();
        assert_eq!((guest.name.as_str(), guest.count), ("hello", 1));
        assert_eq!(guest.disk, Some(PathBuf::from("d.img")));
    }

    #[test]
    fn rejects_bad_values() {
        for (text, wanted) in [
            ("k,count=0", "count `0`"),
            ("k,count=1025", "count `1025`"),
            ("k,count=-1", "count `-1`"),
            ("k,mem=0", "outside 1M..4G"),
            ("k,mem=8G", "outside 1M..4G"),
            ("k,mem=999999999999G", "not a size"),
            ("k,mem=lots", "not a size"),
            ("k,mem=1048577", "4 KiB pages"),
            ("k,colour=red", "unknown key `colour`"),
            (
                "k,mode=native",
                "mode `native` is not one of pv, emulate, patch",
            ),
            ("k,restart=maybe", "restart `maybe` is not yes or no"),
            ("k,restart=", "restart `` is not yes or no"),
            ("k,name", "is not key=value"),
            ("k,name=a b", "not ` `"),
            ("k,name=", "name is empty"),
            ("k,disk=", "disk= needs a path"),
            ("k,count=2,count=3", "key `count` given twice"),
            ("k,disk=d,count=2", "cannot go with count=2"),
            ("k,driver=maybe", "driver `maybe` is not yes or no"),
            ("k,driver=", "driver `` is not yes or no"),
            ("k,driver=yes,count=2", "cannot go with count=2"),
            ("k,driver=yes,disk=d.img", "owns the physical disk"),
            (
                "k,driver=yes,mode=emulate",
                "reaches COM1's ports directly; it cannot have mode=emulate",
            ),
            (",name=x", "path is missing"),
        ] {
            let error = parse_option(text).unwrap_err();
            assert!(error.contains(wanted), "{text}: {error}");
        }
        let long = format!("k,name={}", "n".repeat(31));
        assert!(parse_option(&format!("{long},count=10")).is_err());
        assert!(parse_option(&format!("k,args={}", "a".repeat(81))).is_err());
    }

    #[test]
    fn parses_a_config_file() {
        let text = "[[guest]]\npath = \"a.elf\"\nmem = \"4M\"\ncount = 2\n\n\
                    [[guest]]\npath = \"b.elf\"\nname = \"bee\"\nmode = \"emulate\"\nargs = \"x=1\"\n\
                    [[guest]]\npath = \"c.elf\"\ndriver = \"yes\"\n";
        let guests = parse_config(text, "conf/g.toml").unwrap();
        assert_eq!(guests.len(), 3);
        assert!(guests[2].driver && !guests[1].driver);
        assert_eq!(guests[0].path, PathBuf::from("conf/a.elf"));
        assert_eq!((guests[0].name.as_str(), guests[0].count), ("a", 2));
        assert_eq!(guests[0].mem, Some(4 << 20));
        assert_eq!(
            (guests[1].name.as_str(), guests[1].args.as_str()),
            ("bee", "x=1")
        );
        assert_eq!(guests[1].mode, Mode::Emulate);
    }

    #[test]
    fn rejects_bad_config_files() {
        for (text, wanted) in [
            ("[[guest]]\npath = \"a\"\ncolour = 1\n", "g.toml:"),
            ("[[guest]]\npath = \"a\"\ncolour = 1\n", "colour"),
            ("[[guest]\npath = \"a\"\n", "g.toml:1"),
            ("[[guest]]\nname = \"a\"\n", "path"),
            ("", "guest"),
            ("[[guest]]\npath = \"a\"\ncount = 0\n", "count `0`"),
            (
                "[[guest]]\npath = \"a\"\ndriver = \"sure\"\n",
                "driver `sure`",
            ),
            (
                "[[guest]]\npath = \"a\"\nmem = true\n",
                "string or an integer",
            ),
        ] {
            let error = parse_config(text, "g.toml").unwrap_err();
            assert!(error.contains(wanted), "{text:?}: {error}");
        }
    }

    #[test]
    fn checks_totals_and_names() {
        let many = parse_option("a,count=1000").unwrap();
        let more = parse_option("b,count=25").unwrap();
        assert!(check_together(std::slice::from_ref(&many)).is_ok());
        let error = check_together(&[many, more]).unwrap_err();
        assert!(error.contains("1025 domains"), "{error}");
        let one = parse_option("x/a").unwrap();
        let error = check_together(&[one.clone(), one]).unwrap_err();
        assert!(error.contains("used twice"), "{error}");
        let a = parse_option("x/a,disk=d.img").unwrap();
        let b = parse_option("x/b,disk=./d.img").unwrap();
        assert!(check_together(std::slice::from_ref(&a)).is_ok());
        let error = check_together(&[a, b]).unwrap_err();
        assert!(error.contains("already another domain's disk"), "{error}");
        let one = parse_option("x/d1,driver=yes").unwrap();
        let two = parse_option("x/d2,driver=yes").unwrap();
        let plain = parse_option("x/p").unwrap();
        assert!(check_together(&[one.clone(), plain]).is_ok());
        let error = check_together(&[one, two]).unwrap_err();
        assert!(error.contains("there is one driver domain"), "{error}");
    }
}
