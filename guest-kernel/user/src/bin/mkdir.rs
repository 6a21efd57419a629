//! Makes directories (`mkdir PATH...`).
#![no_std]
#![no_main]

use user::{Args, eprintln, sys};

user::entry!(main);

fn main(args: Args) -> u64 {
    let mut failed = 0;
    for path in args.iter().skip(1) {
        if let Err(error) = sys::mkdir(path) {
            eprintln!("mkdir: {path}: {}", error.name());
            failed = 1;
        }
    }
    failed
}
