//! Running user programs from the shell: a command that is a path
//! (`/bin/hello a b`) or the name of a program in `/bin` starts it as a
//! process with its words as arguments, waits for it, and reports how it
//! ended (a fault is reported by the kernel as it kills the process).

use alloc::string::String;
use alloc::vec::Vec;

use crate::println;
use crate::process::{self, Outcome};

/// The directory searched for a command that is not a path.
const PROGRAMS: &str = "/bin";

/// Whether `command` names a program: a path, or a file in `/bin`.
pub fn is_program(command: &str) -> bool {
    command.starts_with('/')
        || crate::process::files::is_file(&alloc::format!("{PROGRAMS}/{command}"))
}

/// Runs the command `line` (program and arguments) to its end.
pub fn run(line: &str) {
    let args: Vec<String> = line.split_whitespace().map(String::from).collect();
    let Some(command) = args.first() else {
        return;
    };
    let path = match command.starts_with('/') {
        true => command.clone(),
        false => alloc::format!("{PROGRAMS}/{command}"),
    };
    match process::spawn(0, &path, args) {
        Ok(pid) => match process::run_until_exit(pid) {
            Outcome::Exited(code) => println!("exit status {code}"),
            Outcome::Killed(_) => {}
        },
        Err(error) => println!("{path}: {}", error.name()),
    }
}
