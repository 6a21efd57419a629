//! Scenario guest: runs next to a hostile domain (`peer=NAME`, default
//! `fuzz`) for as long as that domain lives, and measures its own share of
//! the CPU. It spins reading virtual time; a jump of more than `gap_us`
//! (default 500 µs) between two readings is time it did not run. In every
//! window of `window_ms` (default 500 ms) of virtual time it must have run
//! at least `min_share` percent (default 40: two domains in round robin
//! get about 50). It prints its smallest window share and fails below the
//! bound, or with fewer than `windows` full windows (default 0).
//!
//! It looks the peer up every millisecond and ends once the peer is gone,
//! so it always finishes after it.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::cpu_share::ShareMeter;
use guest_kernel::interrupts::now_ns;
use guest_kernel::{check, hv, println, scenario};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    let info = scenario::start_info();
    let args = info.args();
    let peer = scenario::arg(args, "peer").unwrap_or("fuzz");
    let window_ms = scenario::number(args, "window_ms", 500);
    let min_share = scenario::number(args, "min_share", 40);
    let gap_us = scenario::number(args, "gap_us", 500);
    let min_windows = scenario::number(args, "windows", 0);
    let peer_id = scenario::find_domain(peer);
    let mut meter = ShareMeter::new(now_ns(), window_ms * 1_000_000, gap_us * 1000);
    let mut next_check = 0;
    let mut reported = 0;
    loop {
        let now = now_ns();
        meter.observe(now);
        if let Some(window) = meter.take_closed()
            && window.permille < min_share * 10
            && reported < 10
        {
            reported += 1;
            println!(
                "window at {} ms: ran {}.{}% (longest gap {} us)",
                window.start / 1_000_000,
                window.permille / 10,
                window.permille % 10,
                window.longest_gap / 1000
            );
        }
        if now >= next_check {
            if hv::events::domain_lookup(peer) != Ok(peer_id) {
                break;
            }
            next_check = now + 1_000_000;
        }
    }
    let (ran, total) = meter.totals();
    let percent = |permille: u64| (permille / 10, permille % 10);
    let (whole, tenth) = percent(ran * 1000 / total.max(1));
    match meter.min_permille() {
        Some(min) => {
            let (min_whole, min_tenth) = percent(min);
            println!(
                "cpu share while '{peer}' ran: min {min_whole}.{min_tenth}% over {} windows of {window_ms} ms (ran {} of {} ms, {whole}.{tenth}%; longest gap {} us)",
                meter.windows(),
                ran / 1_000_000,
                total / 1_000_000,
                meter.longest_gap() / 1000,
            );
            check!(
                min >= min_share * 10,
                "cpu share fell to {min_whole}.{min_tenth}% in a window of {window_ms} ms (bound {min_share}%)"
            );
        }
        None => println!(
            "cpu share while '{peer}' ran: no full window of {window_ms} ms (ran {} of {} ms)",
            ran / 1_000_000,
            total / 1_000_000
        ),
    }
    check!(
        meter.windows() >= min_windows,
        "only {} full windows of {window_ms} ms (at least {min_windows} expected)",
        meter.windows()
    );
    scenario::done()
}
