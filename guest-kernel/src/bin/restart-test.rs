//! Scenario guest for restarts and the watchdog. Each run prints which run
//! it is (`StartInfo::restarts`), then, while fewer than `until=N` restarts
//! (default 1) came before it, fails as `mode=` says: `crash` (a page
//! fault with no handler), `spin` (arms a 100 ms watchdog, keeps it fed
//! for a while, then spins without calling the hypervisor) or `sleep`
//! (the same, but then sleeps in `block` forever, waking only for its
//! timer tick). The run that
//! has seen `until` restarts says so and finishes.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::{hv, interrupts, println, scenario, timer};
use shared_abi::guest::watchdog;

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const TIMEOUT_NS: u64 = 100_000_000;

fn main(boot_info: &'static mut BootInfo) -> ! {
    let info = scenario::start_info();
    let mode = scenario::arg(info.args(), "mode").unwrap_or("crash");
    let until = scenario::number(info.args(), "until", 1) as u32;
    println!("run {} (restarts {})", info.restarts + 1, info.restarts);
    if info.restarts >= until {
        println!("recovered after {} restarts", info.restarts);
        scenario::done();
    }
    match mode {
        "crash" => {
            println!("crashing");
            hv::yield_now();
            // SAFETY: deliberately faults; nothing maps this address and no
            // handler is registered, so the hypervisor stops the domain.
            unsafe { core::ptr::read_volatile(0xdead_0000 as *const u64) };
            scenario::fail(format_args!("the fault did not stop the domain"))
        }
        "spin" | "sleep" => {
            scenario::init_interrupts(boot_info);
            interrupts::enable();
            timer::init();
            if let Err(status) = watchdog::arm(TIMEOUT_NS) {
                scenario::fail(format_args!("watchdog: {}", status.name()));
            }
            for _ in 0..5 {
                timer::sleep(TIMEOUT_NS / 4);
                if let Err(status) = watchdog::arm(TIMEOUT_NS) {
                    scenario::fail(format_args!("watchdog: {}", status.name()));
                }
            }
            println!("fed the watchdog 5 times; now hanging ({mode})");
            if mode == "spin" {
                loop {
                    core::hint::spin_loop();
                }
            }
            loop {
                let _ = hv::events::block();
            }
        }
        other => scenario::fail(format_args!("unknown mode {other}")),
    }
}
