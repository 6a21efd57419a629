//! Greets, names its process and prints its arguments.
#![no_std]
#![no_main]

use user::{Args, println, sys};

user::entry!(main);

fn main(args: Args) -> u64 {
    println!("Hello from user space! I am process {}.", sys::getpid());
    for (index, arg) in args.iter().enumerate() {
        println!("argv[{index}] = {arg}");
    }
    0
}
