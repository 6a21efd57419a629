//! Hostile: writes kernel memory (`poke [ADDRESS]`, by default the guest
//! kernel's image at 2 MiB). The kernel must kill it.
#![no_std]
#![no_main]

use user::{Args, println};

user::entry!(main);

fn main(args: Args) -> u64 {
    let address = args.number(1, 0x20_0000);
    println!("poke: writing {address:#x}");
    // SAFETY: deliberately not: the program tests that it is stopped.
    unsafe { core::ptr::write_volatile(address as *mut u64, 0xdead_beef) };
    println!("poke: wrote {address:#x}: the kernel is exposed");
    1
}
