//! Hostile scenario guest: masks its virtual interrupts and spins without
//! ever yielding for `ms=N` milliseconds of virtual time (default 1000).
//! The hypervisor's timer must still preempt it so other domains progress.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::interrupts::{self, now_ns};
use guest_kernel::{println, scenario};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    let info = scenario::start_info();
    let ms = scenario::number(info.args(), "ms", 1000);
    interrupts::disable();
    let until = now_ns() + ms * 1_000_000;
    let mut spins = 0u64;
    while now_ns() < until {
        spins += 1;
    }
    println!("spun {ms} ms with virtual interrupts masked ({spins} iterations)");
    scenario::done()
}
