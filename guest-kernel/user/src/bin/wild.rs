//! Hostile: passes wild pointers to every system call that takes one:
//! kernel addresses, unmapped and non-canonical ones, ranges that run off
//! the end of a mapping, and read-only memory where the kernel would
//! write. Every call must fail (with `BadAddress` where a pointer is at
//! fault) and the process must live on.
#![no_std]
#![no_main]

use shared_abi::syscall::Argument;
use user::{Args, Error, println, sys};

user::entry!(main);

const WILD: [u64; 10] = [
    0,
    0x1000,
    0x20_0000,
    0x2000_0000_0000,
    0x3fff_f000,
    0x7f_ffff_fffc,
    0x80_0000_0000,
    0x0000_7fff_ffff_f000,
    0xffff_8000_0000_0000,
    u64::MAX - 7,
];

struct Tally {
    calls: u64,
    bad_address: u64,
    accepted: u64,
    verbose: bool,
}

impl Tally {
    fn check(&mut self, what: &str, pointer: u64, raw: u64) {
        self.calls += 1;
        if self.verbose {
            println!(
                "wild: {what} with {pointer:#x}: {:?}",
                shared_abi::syscall::decode(raw)
            );
        }
        match shared_abi::syscall::decode(raw) {
            Err(Error::BadAddress) => self.bad_address += 1,
            Err(_) => {}
            Ok(value) => {
                self.accepted += 1;
                println!("wild: {what} with {pointer:#x} returned {value}");
            }
        }
    }
}

fn call(number: shared_abi::syscall::Syscall, args: [u64; 5]) -> u64 {
    // SAFETY: the pointers are wild on purpose; the kernel must refuse them.
    unsafe { sys::raw(number as u64, args) }
}

fn main(args: Args) -> u64 {
    use shared_abi::syscall::Syscall::*;
    let verbose = args.get(1) == Some("verbose");
    let mut tally = Tally {
        calls: 0,
        bad_address: 0,
        accepted: 0,
        verbose,
    };
    let text = main as *const () as u64;
    let good = b"/bin/hello";
    let good_pointer = good.as_ptr() as u64;
    let mut buffer = [0u8; 64];
    let buffer_pointer = buffer.as_mut_ptr() as u64;
    for pointer in WILD {
        tally.check("write", pointer, call(Write, [1, pointer, 16, 0, 0]));
        tally.check("read", pointer, call(Read, [0, pointer, 16, 0, 0]));
        tally.check("open", pointer, call(Open, [pointer, 8, 1, 0, 0]));
        tally.check("unlink", pointer, call(Unlink, [pointer, 8, 0, 0, 0]));
        tally.check("mkdir", pointer, call(Mkdir, [pointer, 8, 0, 0, 0]));
        tally.check(
            "list path",
            pointer,
            call(List, [pointer, 1, buffer_pointer, 64, 0]),
        );
        tally.check(
            "list buffer",
            pointer,
            call(List, [good_pointer, 4, pointer, 64, 0]),
        );
        tally.check("spawn path", pointer, call(Spawn, [pointer, 10, 0, 0, 0]));
        tally.check(
            "spawn argv",
            pointer,
            call(Spawn, [good_pointer, 10, pointer, 1, 0]),
        );
        let argv = [Argument { pointer, length: 5 }];
        let argv_pointer = argv.as_ptr() as u64;
        tally.check(
            "spawn argument",
            pointer,
            call(Spawn, [good_pointer, 10, argv_pointer, 1, 0]),
        );
        if pointer != 0 {
            tally.check("brk", pointer, call(Brk, [pointer, 0, 0, 0, 0]));
        }
    }
    // Read-only memory where the kernel would write, and lengths running
    // past the end of a mapping.
    tally.check("read into text", text, call(Read, [0, text, 16, 0, 0]));
    tally.check(
        "list into text",
        text,
        call(List, [good_pointer, 1, text, 64, 0]),
    );
    tally.check(
        "write past the stack",
        buffer_pointer,
        call(Write, [1, buffer_pointer, u64::MAX, 0, 0]),
    );
    tally.check(
        "write huge",
        good_pointer,
        call(Write, [1, good_pointer, 1 << 40, 0, 0]),
    );
    println!(
        "wild: {} calls with wild pointers, {} refused with a bad address, {} accepted",
        tally.calls, tally.bad_address, tally.accepted
    );
    let _ = buffer;
    u64::from(tally.accepted != 0)
}
