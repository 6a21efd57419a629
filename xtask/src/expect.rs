//! What a scenario expects of a QEMU run, and the check against the serial log.
//!
//! An [`Expectation`] names the hypervisor exit status, substrings that must
//! (or must not) appear in some line of the log, and ordering constraints
//! between lines. [`Expectation::check`] returns every unmet point as one
//! line of text.

use shared_abi::exit::HvExit;

/// Most problems listed in one failure reason; the rest are counted.
const MAX_PROBLEMS: usize = 4;

/// A test applied to one line of the log (for ordering constraints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineMatch {
    /// The line starts with the text.
    Prefix(String),
}

impl LineMatch {
    fn matches(&self, line: &str) -> bool {
        match self {
            LineMatch::Prefix(text) => line.starts_with(text.as_str()),
        }
    }
}

impl std::fmt::Display for LineMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineMatch::Prefix(text) => write!(f, "line starting with `{text}`"),
        }
    }
}

/// A check of a whole serial log: `Err` says what is wrong.
pub type LogCheck = fn(&str) -> Result<(), String>;

/// The outcome a scenario requires.
#[derive(Clone, Debug)]
pub struct Expectation {
    pub exit: HvExit,
    /// Each must be a substring of some line.
    pub lines: Vec<String>,
    /// None may be a substring of any line.
    pub forbidden: Vec<String>,
    /// For each `(a, b)`: some line matching `a` comes before some line
    /// matching `b` (the first `a` precedes the last `b`).
    pub ordered: Vec<(LineMatch, LineMatch)>,
    /// Each must equal some whole line.
    pub exact: Vec<String>,
    /// For each `(a, b)`: some line contains `a` and ends with `b` (a
    /// report naming its subject and its cause on one line).
    pub reports: Vec<(String, String)>,
    /// Checks of the whole log that a substring cannot express.
    pub checks: Vec<LogCheck>,
    /// The boot is killed on purpose (no exit status to check).
    pub killed: bool,
}

impl Expectation {
    /// An expectation of `exit` with no line constraints.
    pub fn new(exit: HvExit) -> Self {
        Self {
            exit,
            lines: Vec::new(),
            forbidden: Vec::new(),
            ordered: Vec::new(),
            exact: Vec::new(),
            reports: Vec::new(),
            checks: Vec::new(),
            killed: false,
        }
    }

    /// Checks QEMU's exit code (`None` when killed by a signal) and the serial
    /// log, returning every failed point joined by `; `.
    pub fn check(&self, qemu_code: Option<i32>, log: &str) -> Result<(), String> {
        let lines: Vec<&str> = log
            .lines()
            .map(|line| line.trim_end_matches('\r'))
            .collect();
        let mut problems = Vec::new();
        match qemu_code.map(|code| (code, HvExit::from_qemu_status(code))) {
            None if self.killed => {}
            Some((_, Some(exit))) if exit == self.exit => {}
            Some((_, Some(exit))) => {
                problems.push(format!("expected exit {:?}, got {exit:?}", self.exit))
            }
            Some((code, None)) => problems.push(format!(
                "expected exit {:?}, but qemu exited with status {code}",
                self.exit
            )),
            None => problems.push(format!(
                "expected exit {:?}, but qemu was killed by a signal",
                self.exit
            )),
        }
        for wanted in &self.lines {
            if !lines.iter().any(|line| line.contains(wanted.as_str())) {
                problems.push(format!("missing `{wanted}`"));
            }
        }
        for wanted in &self.exact {
            if !lines.iter().any(|line| line == wanted) {
                problems.push(format!("missing the line `{wanted}`"));
            }
        }
        for (subject, ending) in &self.reports {
            let found = lines
                .iter()
                .any(|line| line.contains(subject.as_str()) && line.ends_with(ending.as_str()));
            if !found {
                problems.push(format!("no line with `{subject}` ending in `{ending}`"));
            }
        }
        for check in &self.checks {
            if let Err(problem) = check(log) {
                problems.push(problem);
            }
        }
        for banned in &self.forbidden {
            if let Some(line) = lines.iter().find(|line| line.contains(banned.as_str())) {
                problems.push(format!("forbidden `{banned}` in line `{}`", line.trim()));
            }
        }
        for (first, second) in &self.ordered {
            let first_at = lines.iter().position(|line| first.matches(line));
            let second_at = lines.iter().rposition(|line| second.matches(line));
            match (first_at, second_at) {
                (Some(a), Some(b)) if a < b => {}
                (None, _) => problems.push(format!("no {first}")),
                (_, None) => problems.push(format!("no {second}")),
                _ => problems.push(format!("no {first} before the last {second}")),
            }
        }
        if problems.len() > MAX_PROBLEMS {
            let more = problems.len() - MAX_PROBLEMS;
            problems.truncate(MAX_PROBLEMS);
            problems.push(format!("and {more} more"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expectation() -> Expectation {
        let mut expectation = Expectation::new(HvExit::Success);
        expectation.lines = vec!["[one] done".into(), "'one' shut down with code 0".into()];
        expectation.forbidden = vec!["FAIL".into()];
        expectation.ordered = vec![(
            LineMatch::Prefix("[two] ".into()),
            LineMatch::Prefix("[one] ".into()),
        )];
        expectation
    }

    const GOOD: &str = "hv: microhypervisor\r\n[one] 1\r\n[two] 1\r\n[one] done\r\n\
                        hv: domain 1 'one' shut down with code 0\r\n";
    const SUCCESS: Option<i32> = Some(33);

    #[test]
    fn accepts_a_satisfying_log() {
        assert_eq!(expectation().check(SUCCESS, GOOD), Ok(()));
    }

    #[test]
    fn reports_a_missing_line() {
        let log = GOOD.replace("[one] done", "[one] 2");
        assert_eq!(
            expectation().check(SUCCESS, &log),
            Err("missing `[one] done`".into())
        );
    }

    #[test]
    fn reports_a_forbidden_line() {
        let log = format!("{GOOD}[one] FAIL: bad\n");
        let error = expectation().check(SUCCESS, &log).unwrap_err();
        assert_eq!(error, "forbidden `FAIL` in line `[one] FAIL: bad`");
    }

    #[test]
    fn checks_ordering() {
        let log = "[one] 1\n[one] done\n[two] 1\n'one' shut down with code 0\n";
        let error = expectation().check(SUCCESS, log).unwrap_err();
        assert_eq!(
            error,
            "no line starting with `[two] ` before the last line starting with `[one] `"
        );
        let error = expectation()
            .check(SUCCESS, "[one] done\n'one' shut down with code 0\n")
            .unwrap_err();
        assert_eq!(error, "no line starting with `[two] `");
    }

    #[test]
    fn checks_the_exit_status() {
        let error = expectation()
            .check(Some(HvExit::DomainFailed.qemu_status()), GOOD)
            .unwrap_err();
        assert_eq!(error, "expected exit Success, got DomainFailed");
        let error = expectation().check(Some(1), GOOD).unwrap_err();
        assert_eq!(
            error,
            "expected exit Success, but qemu exited with status 1"
        );
        assert!(expectation().check(None, GOOD).is_err());
    }

    #[test]
    fn shortens_long_reports() {
        let mut expectation = expectation();
        expectation.lines = (0..10).map(|index| format!("line {index}")).collect();
        let error = expectation.check(SUCCESS, GOOD).unwrap_err();
        assert!(error.ends_with("missing `line 3`; and 6 more"), "{error}");
    }
}
