//! `cargo xtask`: the project's build, run and test driver.
//!
//! Parses the command line (see `cargo xtask --help`) and dispatches to
//! `build`, `run`, `test`, `bench`, `fuzz`, `gdb` or `new-guest`. Errors are
//! printed as one line on stderr and end the process with status 1.

#[cfg(test)]
mod abi_doc;
mod artifacts;
mod bad_input;
mod bench;
mod bundle;
mod cli;
mod crash_trials;
mod default_driver;
mod disk_damage;
mod disk_image;
mod driver_block_scenarios;
mod driver_console_scenarios;
mod elf_corrupt;
mod emulation_scenarios;
mod expect;
mod ext2_map;
mod ext4_map;
mod figure;
mod fs_checks;
mod fs_scenarios;
mod fs_write_scenarios;
mod fuzz;
mod fuzz_targets;
mod gdb;
mod gdb_scenario;
mod gdb_scenarios;
mod guest_check;
mod guest_disks;
mod guest_spec;
mod guest_template;
mod input_file;
mod log_checks;
mod new_guest;
mod options;
mod paths;
mod qemu;
#[cfg(test)]
mod readme;
mod restart_scenarios;
mod run;
mod run_checks;
mod run_report;
mod scenario;
mod scenario_boot;
mod scenarios;
mod test;
mod three_ways;
mod trace;
mod trace_format;
mod unit_tests;
mod user_programs;
mod user_scenarios;

use std::process::ExitCode;

use cli::Command;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let result = cli::parse(&args).and_then(|command| match command {
        Command::Help(text) => {
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Build { profile } => build(profile),
        Command::Run(options) => run::run(options),
        Command::Test(options) => test::run(options),
        Command::Bench(options) => bench::run(options),
        Command::Trace { run, out } => trace::run(run, out),
        Command::NewGuest { dir } => new_guest::run(&dir),
        Command::Fuzz(options) => fuzz::run(options),
        Command::Gdb(options) => gdb::run(options),
    });
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask build`: builds everything and checks every artifact exists.
fn build(profile: artifacts::Profile) -> Result<ExitCode, String> {
    let built = artifacts::build(profile, artifacts::Output::Inherit)?;
    let missing = built.missing();
    if !missing.is_empty() {
        let paths: Vec<String> = missing
            .iter()
            .map(|path| path.display().to_string())
            .collect();
        return Err(format!("the build did not produce {}", paths.join(", ")));
    }
    println!("hypervisor: {}", built.hypervisor().display());
    for bin in artifacts::GUEST_BINS {
        println!("guest {bin}: {}", built.guest(bin).display());
    }
    Ok(ExitCode::SUCCESS)
}
