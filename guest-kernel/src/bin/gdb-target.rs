//! Scenario guest the gdb scenarios debug. It adds up the squares of 1 to
//! 4 through `square` (where the debugger breaks), keeping a running total
//! in `TOTAL` (which the debugger prints), checks the sum and ends. With
//! the argument `wait`, it first spins until a debugger sets `RELEASE`
//! (the debugger interrupts it there with Ctrl-C).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::{check, println, scenario};

entry_point!(main);

/// The sum so far, as the debugger sees it (`print gdb_target::TOTAL`).
static TOTAL: AtomicU64 = AtomicU64::new(0);
/// Set by the debugger to end the wait (`set var RELEASE.v.value = 1`);
/// exported, so that the compiler cannot assume nothing writes it.
#[unsafe(no_mangle)]
static RELEASE: AtomicBool = AtomicBool::new(false);

/// The square of `round`, added to the total.
#[inline(never)]
fn square(round: u64) -> u64 {
    let value = multiply(round, round);
    TOTAL.fetch_add(value, Ordering::Relaxed);
    value
}

#[inline(never)]
fn multiply(a: u64, b: u64) -> u64 {
    core::hint::black_box(a) * b
}

fn main(_boot_info: &'static mut BootInfo) -> ! {
    let info = scenario::start_info();
    if info.args() == "wait" {
        println!("waiting for the debugger");
        while !RELEASE.load(Ordering::Relaxed) {
            core::hint::spin_loop();
        }
        println!("released");
    }
    let mut sum = 0;
    for round in 1..=4 {
        sum += square(round);
    }
    let total = TOTAL.load(Ordering::Relaxed);
    check!(sum == 30 && total == 30, "sum {sum}, total {total}");
    println!("sum of squares {sum}");
    scenario::done()
}
