//! Scenario guest: prints `lines=N` numbered lines (default 5), yielding
//! after each so that domains interleave, then ends (with `exit=CODE`, by
//! shutting down with that code instead of passing).
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::{hv, println, scenario};

entry_point!(main);

fn main(_boot_info: &'static mut BootInfo) -> ! {
    let info = scenario::start_info();
    let lines: u32 = scenario::arg(info.args(), "lines")
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    for line in 1..=lines {
        println!("line {line}/{lines}");
        hv::yield_now();
    }
    if let Some(code) = scenario::arg(info.args(), "exit").and_then(|code| code.parse().ok()) {
        println!("exiting with code {code}");
        scenario::exit(code);
    }
    scenario::done()
}
