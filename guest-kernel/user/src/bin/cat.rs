//! Prints files (`cat PATH...`); with no path, copies console input to the
//! console until a line holding only `.`.
#![no_std]
#![no_main]

use user::{Args, eprintln, open_flags, sys};

user::entry!(main);

fn main(args: Args) -> u64 {
    if args.len() < 2 {
        return copy_input();
    }
    let mut failed = 0;
    for path in args.iter().skip(1) {
        if let Err(error) = print_file(path) {
            eprintln!("cat: {path}: {}", error.name());
            failed = 1;
        }
    }
    failed
}

fn print_file(path: &str) -> Result<(), user::Error> {
    let fd = sys::open(path, open_flags::READ)?;
    let mut buffer = [0u8; 1024];
    loop {
        let count = sys::read(fd, &mut buffer)?;
        if count == 0 {
            break;
        }
        sys::write(1, &buffer[..count])?;
    }
    sys::close(fd)
}

fn copy_input() -> u64 {
    let mut line = [0u8; 256];
    let mut length = 0;
    let mut byte = [0u8; 1];
    loop {
        if sys::read(0, &mut byte).unwrap_or(0) == 0 {
            return 1;
        }
        match byte[0] {
            b'\r' | b'\n' if &line[..length] == b"." => return 0,
            b'\r' | b'\n' => {
                let _ = sys::write(1, &line[..length]);
                let _ = sys::write(1, b"\n");
                length = 0;
            }
            other if length < line.len() => {
                line[length] = other;
                length += 1;
            }
            _ => {}
        }
    }
}
