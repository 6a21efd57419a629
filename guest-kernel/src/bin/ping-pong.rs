//! Scenario guest: interdomain ping-pong. With `role=ping peer=NAME
//! rounds=N` it offers a port to the peer and sends N pings, waiting for
//! each reply; with `role=pong peer=NAME rounds=N` it binds the offered port
//! and answers every ping. Both count every event.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::interrupts;
use guest_kernel::{check, hv, println, scenario};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

static RECEIVED: AtomicU64 = AtomicU64::new(0);
static PORT: AtomicU32 = AtomicU32::new(0);

fn on_ping(port: u32) {
    RECEIVED.fetch_add(1, Ordering::SeqCst);
    let _ = hv::events::send(port);
}

fn on_pong(_port: u32) {
    RECEIVED.fetch_add(1, Ordering::SeqCst);
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    let info = scenario::start_info();
    let peer = scenario::find_domain(scenario::arg(info.args(), "peer").unwrap_or(""));
    let rounds = scenario::number(info.args(), "rounds", 1000);
    match scenario::arg(info.args(), "role") {
        Some("ping") => {
            let port = hv::events::alloc_unbound(peer)
                .unwrap_or_else(|s| scenario::fail(format_args!("alloc: {}", s.name())));
            PORT.store(port, Ordering::SeqCst);
            interrupts::on_port(port, on_pong);
            interrupts::enable();
            scenario::wait_until_connected(port);
            for round in 1..=rounds {
                check!(hv::events::send(port).is_ok(), "send ping {round}");
                interrupts::wait_for_event(|| RECEIVED.load(Ordering::SeqCst) >= round);
            }
            let received = RECEIVED.load(Ordering::SeqCst);
            check!(received == rounds, "{received} replies for {rounds} pings");
            println!("{rounds} pings sent, {received} replies received");
        }
        Some("pong") => {
            let port = scenario::bind_when_offered(peer, 1);
            interrupts::on_port(port, on_ping);
            interrupts::enable();
            interrupts::wait_for_event(|| RECEIVED.load(Ordering::SeqCst) >= rounds);
            let received = RECEIVED.load(Ordering::SeqCst);
            check!(received == rounds, "{received} pings for {rounds} expected");
            println!("{received} pings received and answered");
        }
        _ => scenario::fail(format_args!("role must be ping or pong")),
    }
    scenario::done()
}
