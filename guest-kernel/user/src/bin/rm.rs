//! Removes files (`rm PATH...`).
#![no_std]
#![no_main]

use user::{Args, eprintln, sys};

user::entry!(main);

fn main(args: Args) -> u64 {
    let mut failed = 0;
    for path in args.iter().skip(1) {
        if let Err(error) = sys::unlink(path) {
            eprintln!("rm: {path}: {}", error.name());
            failed = 1;
        }
    }
    failed
}
