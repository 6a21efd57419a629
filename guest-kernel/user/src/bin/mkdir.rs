//! Makes directories (`mkdir PATH...`).
#![no_std]
#![no_main]

use user::{Args, sys};

user::entry!(main);

fn main(args: Args) -> u64 {
    args.for_each_path("mkdir", sys::mkdir)
}
