//! The guest's clock: a periodic tick on the timer VIRQ, tick counting, and
//! sleeping.

use core::sync::atomic::{AtomicU64, Ordering};

use shared_abi::event::Virq;

use crate::interrupts::{self, now_ns};
use crate::{hv, threads};

/// Tick period.
pub const TICK_NS: u64 = 10_000_000;

static TICKS: AtomicU64 = AtomicU64::new(0);
static NEXT_TICK: AtomicU64 = AtomicU64::new(0);

/// Starts the periodic tick (needs `interrupts::init`).
pub fn init() {
    if let Err(status) = interrupts::bind_virq(Virq::Timer, on_tick) {
        panic!("bind timer VIRQ: {}", status.name());
    }
    let first = now_ns() + TICK_NS;
    NEXT_TICK.store(first, Ordering::SeqCst);
    let _ = hv::events::set_timer(first);
}

fn on_tick(_port: u32) {
    TICKS.fetch_add(1, Ordering::SeqCst);
    let now = now_ns();
    let mut next = NEXT_TICK.load(Ordering::SeqCst);
    while next <= now {
        next += TICK_NS;
    }
    NEXT_TICK.store(next, Ordering::SeqCst);
    let _ = hv::events::set_timer(next);
    threads::request_reschedule();
}

/// Ticks since `init`.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::SeqCst)
}

/// Sleeps for at least `ns` (woken by the tick, so to tick granularity).
pub fn sleep(ns: u64) {
    let deadline = now_ns() + ns;
    interrupts::wait_for_event(|| now_ns() >= deadline);
}
