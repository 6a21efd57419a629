//! Hostile: issues every hypercall number (and some beyond) with `syscall`
//! from user mode, with arguments that would shut the domain down, write
//! the console or move page tables. Each must be an unknown system call.
#![no_std]
#![no_main]

use user::{Args, Error, println, sys};

user::entry!(main);

fn main(args: Args) -> u64 {
    let verbose = args.get(1) == Some("verbose");
    let numbers = (0..shared_abi::syscall::FIRST).chain([u64::MAX, 1 << 32, 0x10f, 0x1000]);
    let mut unknown = 0;
    let mut other = 0;
    for number in numbers {
        if verbose {
            println!("hypercalls: {number:#x}");
        }
        let args = [0x20_0000, 64, 1, 0, 0];
        // SAFETY: the kernel must treat every one as an unknown call; the
        // test is that nothing else happens.
        let raw = unsafe { sys::raw(number, args) };
        match shared_abi::syscall::decode(raw) {
            Err(Error::UnknownCall) => unknown += 1,
            result => {
                other += 1;
                println!("hypercalls: number {number:#x} returned {result:?}");
            }
        }
    }
    println!("hypercalls: {unknown} numbers were unknown system calls, {other} were not");
    u64::from(other != 0)
}
