//! Fair share: `share N MS` starts N spinners that all spin for the same
//! MS milliseconds and waits for them (each prints its count).
#![no_std]
#![no_main]

use alloc::format;
use alloc::vec::Vec;
use user::{Args, println, sys};

extern crate alloc;

user::entry!(main);

fn main(args: Args) -> u64 {
    let count = args.number(1, 4);
    let ms = args.number(2, 1000);
    // Loading a spinner takes a while: start them all together later.
    let start = sys::clock() + count * 20_000_000 + 100_000_000;
    let ms_text = format!("{ms}");
    let start_text = format!("{start}");
    let mut pids = Vec::new();
    for _ in 0..count {
        match sys::spawn("/bin/spin", &["spin", &ms_text, &start_text]) {
            Ok(pid) => pids.push(pid),
            Err(error) => println!("share: spawn failed: {}", error.name()),
        }
    }
    for pid in &pids {
        let _ = sys::wait(*pid);
    }
    println!("share: {} spinners finished", pids.len());
    0
}
