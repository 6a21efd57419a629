//! Scenario guest: measures its own share of the CPU while every domain
//! spins. It spins with virtual interrupts masked from `delay_ms` (default
//! 2000) to `delay_ms + window_ms` (default 20000) of its virtual time,
//! counting as not running every gap of more than 1 ms between two reads
//! of the clock (the hypervisor ran someone else), then spins `tail_ms`
//! more (default 3000) so the others' windows also end with everyone
//! spinning, and prints `share_ppm N` (parts per million of the window it
//! ran).
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::interrupts::{self, now_ns};
use guest_kernel::{println, scenario};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

/// A pause longer than this between two clock reads means descheduled.
const GAP_NS: u64 = 1_000_000;

fn arg_ms(args: &str, key: &str, default: u64) -> u64 {
    scenario::number(args, key, default) * 1_000_000
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    let info = scenario::start_info();
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
