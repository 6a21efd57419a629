//! Hostile: reads kernel memory (`peek [ADDRESS]`, by default the guest
//! kernel's image at 2 MiB). The kernel must kill it.
#![no_std]
#![no_main]

use user::{Args, println};

user::entry!(main);

fn main(args: Args) -> u64 {
    let address = args.number(1, 0x20_0000);
    println!("peek: reading {address:#x}");
    // SAFETY: deliberately not: the program tests that it is stopped.
    let value = unsafe { core::ptr::read_volatile(address as *const u64) };
    println!("peek: read {value:#x} at {address:#x}: the kernel is exposed");
    1
}
