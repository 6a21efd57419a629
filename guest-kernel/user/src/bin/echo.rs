//! Prints its arguments on one line.
#![no_std]
#![no_main]

use user::{Args, print, println};

user::entry!(main);

fn main(args: Args) -> u64 {
    for (index, arg) in args.iter().skip(1).enumerate() {
        if index > 0 {
            print!(" ");
        }
        print!("{arg}");
    }
    println!();
    0
}
