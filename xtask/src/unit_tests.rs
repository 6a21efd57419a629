//! The host unit-test tier of `cargo xtask test`: runs cargo suites (unit
//! tests, the guest runtime's doctests, its rustdoc with warnings denied)
//! quietly and counts their results.
//!
//! Each suite prints one summary line; cargo's output is shown only when the
//! suite fails. Counts come from the `test result:` lines cargo prints, one
//! per test binary; a suite that prints none (the rustdoc check) counts as
//! one test.

use std::process::Stdio;

use crate::artifacts::cargo;

/// Passed and failed counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
    }
}

/// The host test suites: cargo's arguments.
pub const SUITES: [&[&str]; 5] = [
    &["test", "-p", "shared-abi", "-p", "hypervisor", "--lib"],
    &["test", "-p", "xtask"],
    &["test", "-p", "ext2", "-p", "terminal"],
    &["test", "--doc", "-p", "shared-abi", "--features", "guest"],
    &[
        "--config",
        "build.rustdocflags=[\"-D\", \"warnings\"]",
        "doc",
        "-p",
        "shared-abi",
        "--no-deps",
    ],
];

/// Runs `cargo <args>`, prints a summary line and returns the counts.
/// A cargo failure with no failed test (e.g. a compile error) counts as one
/// failure, a success without test results as one pass.
pub fn run_suite(args: &[&str]) -> Tally {
    let label = format!("cargo {}", args.join(" "));
    print_progress(&format!("unit tests ({label}) ... "));
    let output = cargo().args(args).stdin(Stdio::null()).output();
    let (success, text) = match output {
        Ok(output) => {
            let text =
                String::from_utf8_lossy(&output.stderr) + String::from_utf8_lossy(&output.stdout);
            (output.status.success(), text.into_owned())
        }
        Err(error) => (false, format!("cannot run cargo: {error}")),
    };
    let mut tally = parse_results(&text);
    if !success && tally.failed == 0 {
        tally.failed = 1;
    }
    if success && tally == Tally::default() {
        tally.passed = 1;
    }
    if success {
        println!("ok ({} passed)", tally.passed);
    } else {
        println!("FAILED ({} passed, {} failed)", tally.passed, tally.failed);
        print_indented(&text);
    }
    tally
}

/// Sums every `test result: ... N passed; M failed; ...` line.
fn parse_results(output: &str) -> Tally {
    let mut tally = Tally::default();
    for line in output.lines() {
        let Some((_, rest)) = line.split_once("test result:") else {
            continue;
        };
        for part in rest.split([';', '.']) {
            match part.trim().split_once(' ') {
                Some((count, "passed")) => tally.passed += count.parse::<usize>().unwrap_or(0),
                Some((count, "failed")) => tally.failed += count.parse::<usize>().unwrap_or(0),
                _ => {}
            }
        }
    }
    tally
}

/// Prints without a newline and flushes, so the line shows while work runs.
pub fn print_progress(text: &str) {
    use std::io::Write;
    print!("{text}");
    let _ = std::io::stdout().flush();
}

/// Prints `text` indented by four spaces, or a note when it is empty.
pub fn print_indented(text: &str) {
    if text.trim().is_empty() {
        println!("    (no output)");
    }
    for line in text.trim_end().lines() {
        println!("    {}", line.trim_end_matches('\r'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_result_lines() {
        let output = "running 3 tests\n\
                      test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\
                      noise\n\
                      test result: FAILED. 4 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out\n";
        assert_eq!(
            parse_results(output),
            Tally {
                passed: 7,
                failed: 2
            }
        );
    }

    #[test]
    fn no_result_lines_count_nothing() {
        assert_eq!(
            parse_results("error[E0425]: cannot find value `x`\n"),
            Tally::default()
        );
    }
}
