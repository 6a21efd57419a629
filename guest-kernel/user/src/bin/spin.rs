//! Spins for a while and prints how many iterations it made: `spin MS
//! [START]` counts for MS milliseconds of virtual time, starting when the
//! clock reaches START nanoseconds (if given), so that several spinners
//! measure the same stretch of time.
#![no_std]
#![no_main]

use user::{Args, println, sys};

user::entry!(main);

fn main(args: Args) -> u64 {
    let ms = args.number(1, 100);
    let start = args.number(2, 0);
    while sys::clock() < start {
        core::hint::spin_loop();
    }
    let begin = sys::clock().max(start);
    let end = begin + ms * 1_000_000;
    let mut count: u64 = 0;
    while sys::clock() < end {
        count += 1;
    }
    println!("spin {}: {count} iterations in {ms} ms", sys::getpid());
    0
}
