//! Lists a directory (`ls [PATH]`, `/` by default).
#![no_std]
#![no_main]

use user::{Args, eprintln, sys};

user::entry!(main);

fn main(args: Args) -> u64 {
    let path = args.get(1).unwrap_or("/");
    let mut buffer = [0u8; 4096];
    match sys::list(path, &mut buffer) {
        Ok(count) => {
            let _ = sys::write(1, &buffer[..count]);
            0
        }
        Err(error) => {
            eprintln!("ls: {path}: {}", error.name());
            1
        }
    }
}
