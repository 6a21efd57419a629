//! The run-outcome tier of `cargo xtask test`: `cargo xtask run` with the
//! user's guests exits 0 only when every domain shut down with code 0,
//! names each one that did not, ends a hanging run at `--timeout`, sizes
//! the machine for the domains' memory, and writes guests' disk writes
//! into their own images, however the run ends.
//!
//! Each case runs this program (`run --guest ...`) as a child with built
//! guest binaries and checks its exit status, its error lines and files.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::artifacts::Artifacts;
use crate::unit_tests::{Tally, print_indented, print_progress};

/// Runs `cargo xtask run ARGS` (this program) under TCG.
pub fn run_xtask(args: &[String]) -> Result<Output, String> {
    xtask("run", args)
}

/// Runs `cargo xtask COMMAND --accel tcg ARGS` (this program).
fn xtask(command: &str, args: &[String]) -> Result<Output, String> {
    let program = std::env::current_exe().map_err(|error| format!("cannot find xtask: {error}"))?;
    Command::new(program)
        .arg(command)
        .args(["--accel", "tcg"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run xtask: {error}"))
}

/// The error lines of a run (`error: ...` on stderr).
fn error_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|line| line.strip_prefix("error: "))
        .map(str::to_string)
        .collect()
}

/// A 4 KiB pattern the `block-test` guest of domain `seed` writes.
fn pattern(seed: u8) -> Vec<u8> {
    (0..4096usize)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A zeroed image of `bytes` under `target/run-checks/`.
fn zeroed(name: &str, bytes: u64) -> Result<PathBuf, String> {
    let dir = crate::paths::target_dir().join("run-checks");
    let path = dir.join(name);
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, vec![0u8; bytes as usize]))
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    Ok(path)
}

type Check = fn(&Artifacts) -> Result<(), String>;

/// The cases: name and check.
const CASES: [(&str, Check); 5] = [
    ("exit-codes", exit_codes),
    ("test-your-guests", test_your_guests),
    ("timeout", timeout),
    ("two-domains-of-256m", two_domains_of_256m),
    ("disks-written-back", disks_written_back),
];

fn exit_codes(artifacts: &Artifacts) -> Result<(), String> {
    let worker = artifacts.guest("worker").display().to_string();
    let output = run_xtask(&[
        "--guest".into(),
        format!("{worker},name=alpha,args=lines=1"),
        "--guest".into(),
        format!("{worker},name=beta,args=lines=1 exit=3"),
    ])?;
    let lines = error_lines(&output);
    match (output.status.code(), lines.as_slice()) {
        (Some(1), [line]) if line == "domain 2 'beta' exited with code 3" => Ok(()),
        (code, _) => Err(format!("exit {code:?}, error lines {lines:?}")),
    }
}

/// `cargo xtask test --guest` passes a guest that does what is expected and
/// fails one that does not.
fn test_your_guests(artifacts: &Artifacts) -> Result<(), String> {
    let hello = artifacts.guest("hello").display().to_string();
    let worker = artifacts.guest("worker").display().to_string();
    let good = xtask(
        "test",
        &[
            "--guest".into(),
            format!("{hello},count=2,mem=4M"),
            "--expect".into(),
            "[hello-2] hello from hello-2".into(),
        ],
    )?;
    let bad = xtask(
        "test",
        &[
            "--guest".into(),
            hello,
            "--guest".into(),
            format!("{worker},name=w,args=lines=1 exit=2"),
        ],
    )?;
    let (good_out, bad_out) = (
        String::from_utf8_lossy(&good.stdout),
        String::from_utf8_lossy(&bad.stdout),
    );
    let reason = "missing `'w' shut down with code 0`";
    match (good.status.code(), bad.status.code()) {
        (Some(0), Some(1))
            if good_out.ends_with("1 passed, 0 failed\n")
                && bad_out.ends_with("0 passed, 1 failed\n")
                && bad_out.contains(reason) =>
        {
            Ok(())
        }
        codes => Err(format!("exits {codes:?}:\n{good_out}\n{bad_out}")),
    }
}

fn timeout(artifacts: &Artifacts) -> Result<(), String> {
    let spinner = artifacts.guest("spinner").display().to_string();
    let hello = artifacts.guest("hello").display().to_string();
    let output = run_xtask(&[
        "--timeout".into(),
        "4".into(),
        "--guest".into(),
        format!("{hello},name=quick"),
        "--guest".into(),
        format!("{spinner},name=spin,args=ms=600000"),
    ])?;
    let lines = error_lines(&output);
    let named = lines
        .iter()
        .any(|line| line == "domain 2 'spin' was still running");
    let quick = lines.iter().any(|line| line.contains("'quick'"));
    match output.status.code() {
        Some(124) if named && !quick && lines[0].starts_with("timed out after 4s") => Ok(()),
        code => Err(format!("exit {code:?}, error lines {lines:?}")),
    }
}

fn two_domains_of_256m(artifacts: &Artifacts) -> Result<(), String> {
    let hello = artifacts.guest("hello").display().to_string();
    let output = run_xtask(&[
        "--timeout".into(),
        "60".into(),
        "--guest".into(),
        format!("{hello},mem=256M,count=2"),
    ])?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let started = stdout.matches("started (256 MiB").count();
    match output.status.code() {
        Some(0) if started == 2 => Ok(()),
        code => Err(format!(
            "exit {code:?}, {started} domains of 256 MiB started"
        )),
    }
}

fn disks_written_back(artifacts: &Artifacts) -> Result<(), String> {
    let block_test = artifacts.guest("block-test").display().to_string();
    let hello = artifacts.guest("hello").display().to_string();
    let (a, b) = (zeroed("a.img", 1 << 20)?, zeroed("b.img", 2 << 20)?);
    let output = run_xtask(&[
        "--timeout".into(),
        "60".into(),
        "--guest".into(),
        format!("{block_test},name=d1,disk={}", a.display()),
        "--guest".into(),
        format!("{hello},name=nodisk"),
        "--guest".into(),
        format!("{block_test},name=d3,disk={}", b.display()),
    ])?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.code() != Some(0) {
        return Err(format!(
            "exit {:?}: {:?}",
            output.status.code(),
            error_lines(&output)
        ));
    }
    for wanted in [
        "[d1] virtual disk: 2048 sectors",
        "[d3] virtual disk: 4096 sectors",
    ] {
        if !stdout.contains(wanted) {
            return Err(format!("missing `{wanted}`"));
        }
    }
    for (path, id) in [(a, 1u8), (b, 3u8)] {
        let image = std::fs::read(&path).map_err(|error| error.to_string())?;
        let last = image.len() - 4096;
        if image[..4096] != pattern(id)[..] || image[last..] != pattern(id ^ 0x5a)[..] {
            return Err(format!("{} lacks domain {id}'s patterns", path.display()));
        }
    }
    Ok(())
}

/// Runs every case.
pub fn run(artifacts: &Artifacts) -> Tally {
    let mut tally = Tally::default();
    for (name, check) in CASES {
        print_progress(&format!("run outcome {name} ... "));
        match check(artifacts) {
            Ok(()) => {
                println!("ok");
                tally.passed += 1;
            }
            Err(reason) => {
                println!("FAILED");
                print_indented(&reason);
                tally.failed += 1;
            }
        }
    }
    tally
}
