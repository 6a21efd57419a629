//! Scenario guest for the tracer: makes calls whose number is known, so
//! that a trace of this domain can be checked exactly. On a loopback port
//! pair it asks for the sending port's state [`STATUS`] times (a call the
//! runtime never makes itself), then sends [`SENDS`] events, each
//! delivered as one upcall, and ends.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::interrupts;
use guest_kernel::{check, hv, println, scenario};
use shared_abi::event::PortState;

entry_point!(main, config = &scenario::MEMORY_CONFIG);

/// `event_status` calls made.
const STATUS: u64 = 17;
/// Events sent (and upcalls expected).
const SENDS: u64 = 5;

static DELIVERED: AtomicU64 = AtomicU64::new(0);

fn count(_port: u32) {
    DELIVERED.fetch_add(1, Ordering::SeqCst);
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_memory(boot_info, None);
    check!(interrupts::init().is_ok(), "interrupts::init");
    let (a, b) = scenario::loopback_pair();
    for _ in 0..STATUS {
        let state = hv::events::status(a).map(|s| s.state);
        check!(state == Ok(PortState::Interdomain), "port state {state:?}");
    }
    interrupts::on_port(b, count);
    interrupts::enable();
    for _ in 0..SENDS {
        check!(hv::events::send(a).is_ok(), "send");
    }
    let delivered = DELIVERED.load(Ordering::SeqCst);
    check!(delivered == SENDS, "each event delivered once: {delivered}");
    println!("trace-target: {STATUS} event_status, {SENDS} event_send, {delivered} upcalls");
    scenario::done()
}
