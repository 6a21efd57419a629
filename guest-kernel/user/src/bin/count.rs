//! Counts to N without a system call (`count N`) and prints the count.
#![no_std]
#![no_main]

use user::{Args, println};

user::entry!(main);

fn main(args: Args) -> u64 {
    let limit = args.number(1, 100_000_000);
    let mut count = 0u64;
    while count < limit {
        count = core::hint::black_box(count) + 1;
    }
    println!("count: reached {count}");
    0
}
