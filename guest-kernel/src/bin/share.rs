//! Scenario guest: measures its own share of the CPU while every domain
//! spins. It spins with virtual interrupts masked from `delay_ms` (default
//! 2000) to `delay_ms + window_ms` (default 20000) of its virtual time,
//! counting as not running every gap of more than 1 ms between two reads
//! of the clock (the hypervisor ran someone else), then spins `tail_ms`
//! more (default 3000) so the others' windows also end with everyone
//! spinning, and prints `share_ppm N` (parts per million of the window it
//! ran).
//!
//! With `role=hog` it measures nothing: for `ms` of its virtual time
//! (default 6000) it calls `console_write` with 4096 newlines again and
//! again, each call costing the hypervisor a prefix per line on the serial
//! line, far more time than a slice. The hypervisor must charge that time
//! to it, so the others still get their share.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::interrupts::{self, now_ns};
use guest_kernel::{hv, println, scenario};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

/// A pause longer than this between two clock reads means descheduled.
const GAP_NS: u64 = 1_000_000;

fn arg_ms(args: &str, key: &str, default: u64) -> u64 {
    scenario::number(args, key, default) * 1_000_000
}

/// `role=hog`: empty lines on the early console for `ms` milliseconds.
fn hog(ms: u64) -> ! {
    let lines = [b'\n'; shared_abi::hypercall::CONSOLE_WRITE_MAX as usize];
    let mut calls = 0u64;
    while now_ns() < ms {
        if hv::console_write(&lines).is_err() {
            scenario::fail(format_args!("console_write"));
        }
        calls += 1;
    }
    println!("hogged the console with {calls} calls");
    scenario::done()
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    let info = scenario::start_info();
    if scenario::arg(info.args(), "role") == Some("hog") {
        hog(arg_ms(info.args(), "ms", 6000));
    }
    let delay = arg_ms(info.args(), "delay_ms", 2000);
    let window = arg_ms(info.args(), "window_ms", 20_000);
    let tail = arg_ms(info.args(), "tail_ms", 3000);
    interrupts::disable();
    while now_ns() < delay {}
    let start = now_ns();
    let end = start + window;
    let (mut last, mut gaps, mut gap_count) = (start, 0u64, 0u64);
    loop {
        let now = now_ns();
        if now - last > GAP_NS {
            gaps += now - last;
            gap_count += 1;
        }
        last = now;
        if now >= end {
            break;
        }
    }
    let measured = last - start;
    let running = measured - gaps;
    while now_ns() < last + tail {}
    println!(
        "share_ppm {} running_us {} window_us {} gaps {gap_count}",
        running * 1_000_000 / measured,
        running / 1000,
        measured / 1000
    );
    scenario::done()
}
