//! Sleeps (`sleep MS`, 10 by default) and says for how long, by the clock.
#![no_std]
#![no_main]

use user::{Args, println, sys};

user::entry!(main);

fn main(args: Args) -> u64 {
    let ms = args.number(1, 10);
    let start = sys::clock();
    sys::sleep(ms * 1_000_000);
    let slept = (sys::clock() - start) / 1_000_000;
    let verdict = match slept >= ms {
        true => "at least that long",
        false => "too short",
    };
    println!("sleep: asked for {ms} ms, slept {slept} ms: {verdict}");
    u64::from(slept < ms)
}
