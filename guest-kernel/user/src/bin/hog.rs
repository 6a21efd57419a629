//! Hostile: grows its heap a megabyte at a time, touching every page,
//! until the kernel refuses; then asks for absurd amounts. The kernel must
//! refuse and live on.
#![no_std]
#![no_main]

use user::{Args, println, sys};

user::entry!(main);

const STEP: u64 = 1 << 20;

fn main(_args: Args) -> u64 {
    let Ok(start) = sys::brk(0) else {
        return 2;
    };
    let mut end = start;
    let refusal = loop {
        match sys::brk(end + STEP) {
            Ok(new_end) => {
                let mut page = end;
                while page < new_end {
                    // SAFETY: the kernel just mapped [end, new_end) for us.
                    unsafe { core::ptr::write_volatile(page as *mut u64, page) };
                    page += 4096;
                }
                end = new_end;
            }
            Err(error) => break error,
        }
    };
    println!(
        "hog: the kernel refused more memory after {} KiB: {}",
        (end - start) / 1024,
        refusal.name()
    );
    let absurd = sys::brk(u64::MAX - 4095);
    println!(
        "hog: a break at the top of memory: {:?}",
        absurd.err().map(|e| e.name())
    );
    0
}
