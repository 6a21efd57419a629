//! What the guest kernel's own paths cost, timed in user mode with the TSC
//! (instructions under `-icount`): a `getpid` round trip (user, hypervisor,
//! guest kernel with its process table, hypervisor, user) and a `yield`
//! to a partner process that yields straight back (two process switches).
//! Prints `syscost METRIC MEDIAN SAMPLES` lines.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use user::{Args, println, sys};

user::entry!(main);

fn rdtsc() -> u64 {
    // SAFETY: rdtsc only reads the time-stamp counter (allowed in ring 3).
    unsafe { core::arch::x86_64::_rdtsc() }
}

fn median(mut samples: Vec<u64>) -> u64 {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn main(args: Args) -> u64 {
    let samples = args.number(1, 1000);
    if args.get(2) == Some("partner") {
        for _ in 0..samples + 10 {
            sys::yield_now();
        }
        return 0;
    }
    let getpid: Vec<u64> = (0..samples)
        .map(|_| {
            let start = rdtsc();
            let _ = core::hint::black_box(sys::getpid());
            rdtsc() - start
        })
        .collect();
    println!("syscost getpid {} {samples}", median(getpid));
    let count = alloc::format!("{samples}");
    let Ok(partner) = sys::spawn("/bin/syscost", &["syscost", &count, "partner"]) else {
        return 1;
    };
    // Let the partner reach its loop first.
    sys::yield_now();
    let switches: Vec<u64> = (0..samples)
        .map(|_| {
            let start = rdtsc();
            sys::yield_now();
            (rdtsc() - start) / 2
        })
        .collect();
    println!("syscost process_switch {} {samples}", median(switches));
    let _ = sys::wait(partner);
    0
}
