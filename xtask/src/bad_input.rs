//! The bad-input tier of `cargo xtask test`: `cargo xtask run` given a bad
//! guest, a bad option or a bad configuration file must print one line
//! naming the guest and the problem, exit non-zero, and boot nothing.
//!
//! Each case runs this very program (`run --guest ...`) as a child, with
//! broken images made from the built `hello` guest under
//! `target/bad-input/`, and checks its exit status, its stderr and that no
//! hypervisor line reached its stdout.

use std::path::PathBuf;

use crate::artifacts::Artifacts;
use crate::elf_corrupt::{Corruption, corrupt};
use crate::unit_tests::{Tally, print_indented, print_progress};

/// One bad input: its name, the arguments after `run`, and text the one
/// error line must contain.
struct Case {
    name: &'static str,
    args: Vec<String>,
    wanted: Vec<String>,
}

/// Where the broken images and files are written.
fn directory() -> PathBuf {
    crate::paths::target_dir().join("bad-input")
}

/// Writes `hello` with `kind` applied as `<name>.elf`.
fn broken(hello: &[u8], name: &str, kind: Corruption) -> Result<String, String> {
    write(&format!("{name}.elf"), &corrupt(hello, kind))
}

fn write(file: &str, bytes: &[u8]) -> Result<String, String> {
    let path = directory().join(file);
    std::fs::write(&path, bytes)
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    Ok(path.display().to_string())
}

/// The cases, with their files written.
fn cases(artifacts: &Artifacts) -> Result<Vec<Case>, String> {
    std::fs::create_dir_all(directory())
        .map_err(|error| format!("cannot create {}: {error}", directory().display()))?;
    let hello = artifacts.read_guest("hello")?;
    let good = write("good.elf", &hello)?;
    let case = |name, args: &[&str], wanted: &[&str]| Case {
        name,
        args: args.iter().map(|arg| arg.to_string()).collect(),
        wanted: wanted.iter().map(|text| text.to_string()).collect(),
    };
    let image = |name: &'static str, kind, wanted: &str| -> Result<Case, String> {
        let path = broken(&hello, name, kind)?;
        let guest = format!("{path},name={name}");
        Ok(case(
            name,
            &["--guest", &guest],
            &[&format!("guest `{name}`"), wanted],
        ))
    };
    let not_elf = write("not-elf.elf", b"#!/bin/sh\necho not a kernel\n")?;
    let config = |file: &str, text: &str| write(file, text.as_bytes());
    let malformed = config("malformed.toml", "[[guest]\npath = \"x\"\n")?;
    let unknown_key = config(
        "unknown-key.toml",
        &format!("[[guest]]\npath = \"{good}\"\ncolour = \"red\"\n"),
    )?;
    let half = format!("{good},name=fine");
    let disk = write("disk.img", &[0; 512])?;
    let ragged = write("ragged.img", &[0; 100])?;
    Ok(vec![
        case(
            "missing-path",
            &["--guest", "/nonexistent/kernel.elf"],
            &["guest `kernel`", "cannot read the image"],
        ),
        case(
            "not-elf",
            &["--guest", &format!("{not_elf},name=script")],
            &["guest `script`", "not an ELF file"],
        ),
        image("elf32", Corruption::Class32, "not a 64-bit")?,
        image("pie", Corruption::Pie, "is not an executable")?,
        image("overlap", Corruption::OverlappingSegments, "overlap")?,
        image(
            "huge-segment",
            Corruption::OversizedSegment,
            "but the domain has",
        )?,
        image(
            "entry-outside",
            Corruption::EntryOutside,
            "entry point 0x10",
        )?,
        {
            let path = broken(&hello, "too-small", Corruption::GrownSegment)?;
            let guest = format!("{path},name=too-small,mem=1M");
            case(
                "memory-too-small",
                &["--guest", &half, "--guest", &guest],
                &["guest `too-small`", "too small for the image"],
            )
        },
        case(
            "count-zero",
            &["--guest", &format!("{good},count=0")],
            &["guest `good`", "count `0`"],
        ),
        case(
            "count-absurd",
            &["--guest", &format!("{good},count=1025")],
            &["count `1025`"],
        ),
        case(
            "mem-zero",
            &["--guest", &format!("{good},mem=0")],
            &["guest `good`", "mem `0`"],
        ),
        case(
            "mem-over-4g",
            &["--guest", &format!("{good},mem=8G")],
            &["mem `8G`"],
        ),
        case(
            "mem-overflow",
            &["--guest", &format!("{good},mem=999999999999G")],
            &["mem `999999999999G`"],
        ),
        case(
            "mem-per-domain-zero",
            &["--mem-per-domain", "0"],
            &["--mem-per-domain", "mem `0`"],
        ),
        case(
            "unknown-key",
            &["--guest", &format!("{good},colour=red")],
            &["unknown key `colour`"],
        ),
        case(
            "disk-twice",
            &[
                "--guest",
                &format!("{good},name=a,disk={disk}"),
                "--guest",
                &format!("{good},name=b,disk={disk}"),
            ],
            &["guest `b`", "already another domain's disk"],
        ),
        case(
            "disk-not-sectors",
            &["--guest", &format!("{good},disk={ragged}")],
            &[
                "guest `good`",
                "not a whole, non-zero number of 512-byte sectors",
            ],
        ),
        case(
            "guest-not-regular",
            &["--guest", "/dev/zero,name=zero"],
            &["guest `zero`", "not a regular file"],
        ),
        case(
            "timeout-absurd",
            &["--guest", &good, "--timeout", "18446744073709551615"],
            &["--timeout", "expected 1 to 604800 seconds"],
        ),
        case(
            "config-twice",
            &["--config", &unknown_key, "--config", &malformed],
            &["--config given twice"],
        ),
        case(
            "gdb-word",
            &["--guest", &good, "--", "gdb=good"],
            &["`gdb=good`", "cargo xtask gdb"],
        ),
        case(
            "hypervisor-word",
            &["--guest", &good, "--", "dom_mem=0"],
            &["`dom_mem=0`: expected a size"],
        ),
        case(
            "too-many-domains",
            &[
                "--guest",
                &format!("{good},count=1000"),
                "--guest",
                &format!("{good},name=b,count=25"),
            ],
            &["1025 domains"],
        ),
        case(
            "config-malformed",
            &["--config", &malformed],
            &["malformed.toml:1"],
        ),
        case(
            "config-unknown-key",
            &["--config", &unknown_key],
            &["unknown-key.toml:", "colour"],
        ),
    ])
}

/// Runs every case; a case passes when `run` exits non-zero with exactly
/// one line on stderr holding the wanted text, and boots nothing.
pub fn run(artifacts: &Artifacts) -> Tally {
    let mut tally = Tally::default();
    let cases = match cases(artifacts) {
        Ok(cases) => cases,
        Err(error) => {
            println!("bad input ... FAILED: {error}");
            tally.failed += 1;
            return tally;
        }
    };
    for case in cases {
        print_progress(&format!("bad input {} ... ", case.name));
        match check(&case) {
            Ok(()) => {
                println!("ok");
                tally.passed += 1;
            }
            Err((reason, output)) => {
                println!("FAILED: {reason}");
                print_indented(&output);
                tally.failed += 1;
            }
        }
    }
    tally
}

fn check(case: &Case) -> Result<(), (String, String)> {
    let mut args = vec!["--timeout".to_string(), "30".to_string()];
    args.extend(case.args.iter().cloned());
    let output = crate::run_checks::run_xtask(&args).map_err(|error| (error, String::new()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    let problem = if output.status.success() {
        Some("exited with success".to_string())
    } else if stdout.contains("hv:") {
        Some("the hypervisor booted".to_string())
    } else if lines.len() != 1 || !lines[0].starts_with("error: ") {
        Some(format!(
            "{} lines on stderr, not one error line",
            lines.len()
        ))
    } else {
        case.wanted
            .iter()
            .find(|wanted| !lines[0].contains(wanted.as_str()))
            .map(|wanted| format!("the error line lacks `{wanted}`"))
    };
    match problem {
        Some(reason) => Err((reason, shown)),
        None => Ok(()),
    }
}
