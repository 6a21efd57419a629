//! Writes its words to a file (`write PATH WORDS...`, replacing the file;
//! `write -a PATH WORDS...` appends), one line.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use user::{Args, eprintln, open_flags, sys};

user::entry!(main);

fn main(args: Args) -> u64 {
    let append = args.get(1) == Some("-a");
    let first = if append { 2 } else { 1 };
    let Some(path) = args.get(first) else {
        eprintln!("usage: write [-a] PATH WORDS...");
        return 2;
    };
    let mut line = String::new();
    for (index, word) in args.iter().skip(first + 1).enumerate() {
        if index > 0 {
            line.push(' ');
        }
        line.push_str(word);
    }
    line.push('\n');
    let mode = match append {
        true => open_flags::APPEND,
        false => open_flags::TRUNCATE,
    };
    let result = sys::open(path, open_flags::WRITE | open_flags::CREATE | mode).and_then(|fd| {
        sys::write(fd, line.as_bytes())?;
        sys::close(fd)
    });
    match result {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("write: {path}: {}", error.name());
            1
        }
    }
}
