//! Reading a run's serial log for how each domain ended, so `cargo xtask
//! run` can exit 0 only when every domain shut down with code 0 and name
//! each one that did not.
//!
//! The hypervisor ends every run with one line per domain,
//! `hv: result: domain ID 'NAME' OUTCOME` (OUTCOME: `exited with code N`,
//! `stopped` or `blocked`), whatever its log level. A run that never got
//! there (timed out, or the hypervisor faulted) is read from the lines
//! that announce each domain's start and end instead.

/// How one domain ended, by the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Exited(u64),
    /// Stopped by the hypervisor (an exception it could not deliver).
    Stopped,
    /// Blocked with nothing left to wake it.
    Blocked,
    /// No end was logged: still running when QEMU ended.
    Running,
}

/// A domain the log names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainEnd {
    pub id: u32,
    pub name: String,
    pub outcome: Outcome,
}

/// Splits `N 'NAME' REST` into its parts.
fn id_name(text: &str) -> Option<(u32, &str, &str)> {
    let (id, rest) = text.split_once(" '")?;
    let (name, rest) = rest.split_once("' ")?;
    Some((id.parse().ok()?, name, rest))
}

/// Every domain the log names with how it ended, in start order, and the
/// images the hypervisor rejected (`name: reason`).
pub fn read(log: &str) -> (Vec<DomainEnd>, Vec<String>) {
    let mut domains: Vec<DomainEnd> = Vec::new();
    let mut results: Vec<DomainEnd> = Vec::new();
    let mut rejected = Vec::new();
    for line in log.lines().map(|line| line.trim_end_matches('\r')) {
        if let Some(rest) = line.strip_prefix("hv: result: domain ") {
            let Some((id, name, outcome)) = id_name(rest) else {
                continue;
            };
            let outcome = match outcome {
                "stopped" => Outcome::Stopped,
                "blocked" => Outcome::Blocked,
                other => match other
                    .strip_prefix("exited with code ")
                    .and_then(|code| code.parse().ok())
                {
                    Some(code) => Outcome::Exited(code),
                    None => continue,
                },
            };
            let name = name.to_string();
            results.push(DomainEnd { id, name, outcome });
        } else if let Some(rest) = line.strip_prefix("hv: error: image '") {
            if let Some((name, reason)) = rest.split_once("' rejected: ") {
                rejected.push(format!("image '{name}' rejected: {reason}"));
            }
        } else if let Some((id, name, rest)) = line
            .strip_prefix("hv: domain ")
            .or_else(|| line.strip_prefix("hv: warning: domain "))
            .and_then(id_name)
        {
            if rest.starts_with("started (") {
                let name = name.to_string();
                let outcome = Outcome::Running;
                domains.push(DomainEnd { id, name, outcome });
            } else if let Some(domain) = domains.iter_mut().find(|domain| domain.id == id) {
                if let Some(code) = rest.strip_prefix("shut down with code ") {
                    domain.outcome = code.parse().map_or(Outcome::Running, Outcome::Exited);
                } else if rest.starts_with("stopped at rip") {
                    domain.outcome = Outcome::Stopped;
                }
            }
        }
    }
    if results.is_empty() {
        (domains, rejected)
    } else {
        (results, rejected)
    }
}

/// One line for each domain that did not shut down with code 0.
pub fn failures(domains: &[DomainEnd]) -> Vec<String> {
    domains
        .iter()
        .filter_map(|domain| {
            let what = match domain.outcome {
                Outcome::Exited(0) => return None,
                Outcome::Exited(code) => format!("exited with code {code}"),
                Outcome::Stopped => "was stopped by the hypervisor (its report is above)".into(),
                Outcome::Blocked => "was blocked with nothing left to wake it".into(),
                Outcome::Running => "was still running".into(),
            };
            Some(format!("domain {} '{}' {what}", domain.id, domain.name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FINISHED: &str = "hv: domain 1 'alpha' started (16 MiB, entry 0x1)\r\n\
        hv: domain 2 'beta' started (16 MiB, entry 0x1)\r\n\
        [beta] hv: result: domain 9 'fake' exited with code 0\r\n\
        hv: domain 1 'alpha' shut down with code 0\r\n\
        hv: result: domain 1 'alpha' exited with code 0\r\n\
        hv: result: domain 2 'beta' exited with code 3\r\n\
        hv: result: domain 3 'gamma' stopped\r\n\
        hv: result: domain 4 'delta' blocked\r\n";

    #[test]
    fn reads_the_result_lines() {
        let (domains, rejected) = read(FINISHED);
        assert!(rejected.is_empty());
        assert_eq!(domains.len(), 4);
        assert_eq!(
            failures(&domains),
            [
                "domain 2 'beta' exited with code 3",
                "domain 3 'gamma' was stopped by the hypervisor (its report is above)",
                "domain 4 'delta' was blocked with nothing left to wake it",
            ]
        );
    }

    #[test]
    fn names_the_domains_still_running() {
        let log = "hv: domain 1 'alpha' started (16 MiB, entry 0x1)\n\
                   hv: domain 2 'beta' started (16 MiB, entry 0x1)\n\
                   hv: domain 3 'gamma' started (16 MiB, entry 0x1)\n\
                   hv: domain 1 'alpha' shut down with code 0\n\
                   hv: warning: domain 3 'gamma' stopped at rip 0x20: invalid opcode\n\
                   hv: error: image 'bad' rejected: not an ELF file (bad magic)\n";
        let (domains, rejected) = read(log);
        assert_eq!(
            rejected,
            ["image 'bad' rejected: not an ELF file (bad magic)"]
        );
        assert_eq!(
            failures(&domains),
            [
                "domain 2 'beta' was still running",
                "domain 3 'gamma' was stopped by the hypervisor (its report is above)",
            ]
        );
    }
}
