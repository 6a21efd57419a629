//! Exits at once with the code given (`exit CODE`, 0 by default).
#![no_std]
#![no_main]

use user::Args;

user::entry!(main);

fn main(args: Args) -> u64 {
    args.number(1, 0)
}
