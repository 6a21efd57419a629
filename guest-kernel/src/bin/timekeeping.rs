//! Scenario guest: virtual time and the timer. One-shot deadlines arrive
//! within a stated tolerance (asserted in virtual time); then a periodic
//! tick preempts kernel threads that never yield, and sleep sleeps (to its
//! own deadline, with and without the tick).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::interrupts::{self, now_ns};
use guest_kernel::{check, hv, println, scenario, threads, timer};
use shared_abi::event::Virq;

entry_point!(main, config = &scenario::MEMORY_CONFIG);

/// How late a deadline may be seen, in virtual time.
const TOLERANCE_NS: u64 = 5_000_000;
static FIRED_AT: AtomicU64 = AtomicU64::new(0);
static COUNTERS: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];

fn on_timer(_port: u32) {
    FIRED_AT.store(now_ns(), Ordering::SeqCst);
}

fn busy(index: u64) {
    let until = now_ns() + 100_000_000;
    while now_ns() < until {
        COUNTERS[index as usize].fetch_add(1, Ordering::Relaxed);
    }
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    let port = interrupts::bind_virq(Virq::Timer, on_timer)
        .unwrap_or_else(|_| scenario::fail(format_args!("bind")));
    interrupts::enable();
    for delay_ms in [1u64, 3, 7, 20] {
        FIRED_AT.store(0, Ordering::SeqCst);
        let deadline = now_ns() + delay_ms * 1_000_000;
        check!(hv::events::set_timer(deadline).is_ok(), "set_timer");
        interrupts::wait_for_event(|| FIRED_AT.load(Ordering::SeqCst) != 0);
        let fired = FIRED_AT.load(Ordering::SeqCst);
        check!(
            fired + 10_000 >= deadline,
            "{delay_ms} ms deadline fired {} µs early",
            (deadline - fired) / 1000
        );
        let late = fired.saturating_sub(deadline);
        check!(
            late <= TOLERANCE_NS,
            "{delay_ms} ms deadline fired {} µs late",
            late / 1000
        );
        println!(
            "deadline +{delay_ms} ms met ({} µs late, tolerance {} µs)",
            late / 1000,
            TOLERANCE_NS / 1000
        );
    }
    check!(hv::events::close(port).is_ok(), "close");

    // The runtime's sleep arms the one-shot timer itself: no tick needed.
    let start = now_ns();
    timer::sleep(5_000_000);
    let late = (now_ns() - start).saturating_sub(5_000_000);
    check!(
        now_ns() - start >= 5_000_000 && late <= TOLERANCE_NS,
        "a 5 ms sleep without a tick took {} µs",
        (now_ns() - start) / 1000
    );
    println!("slept 5 ms without a tick ({} µs late)", late / 1000);

    timer::init();
    threads::init();
    let ids: [usize; 3] = core::array::from_fn(|i| {
        threads::spawn(busy, i as u64).unwrap_or_else(|| scenario::fail(format_args!("spawn")))
    });
    while ids.iter().any(|id| !threads::finished(*id)) {
        core::hint::spin_loop();
    }
    for (index, id) in ids.iter().enumerate() {
        let count = COUNTERS[index].load(Ordering::Relaxed);
        let switches = threads::switches(*id);
        check!(
            count > 0 && switches > 1,
            "thread {index}: {count} iterations, {switches} switches"
        );
    }
    println!(
        "3 threads that never yield all ran, preempted by the tick ({} ticks)",
        timer::ticks()
    );
    let start = now_ns();
    timer::sleep(30_000_000);
    let slept = now_ns() - start;
    check!(slept >= 30_000_000, "slept only {slept} ns");
    check!(
        slept - 30_000_000 <= TOLERANCE_NS,
        "a 30 ms sleep took {} µs",
        slept / 1000
    );
    println!("slept {} ms", slept / 1_000_000);
    scenario::done()
}
