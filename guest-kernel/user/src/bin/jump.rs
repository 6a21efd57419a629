//! Hostile: jumps into the kernel (`jump [ADDRESS]`, by default the guest
//! kernel's image at 2 MiB). The kernel must kill it.
#![no_std]
#![no_main]

use user::{Args, println};

user::entry!(main);

fn main(args: Args) -> u64 {
    let address = args.number(1, 0x20_0000);
    println!("jump: calling {address:#x}");
    // SAFETY: deliberately not: the program tests that it is stopped.
    let target: extern "C" fn() = unsafe { core::mem::transmute(address as usize) };
    target();
    println!("jump: returned from {address:#x}: the kernel is exposed");
    1
}
