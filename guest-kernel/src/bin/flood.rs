//! Hostile scenario guest: with `role=flood peer=NAME ms=N` it sends events
//! at the peer as fast as it can for N ms of virtual time, then ends; with
//! `role=sink peer=NAME` it counts what arrives until the flooder's port
//! closes. Neither the hypervisor nor other domains may be held up.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::interrupts::{self, now_ns};
use guest_kernel::{check, hv, println, scenario};
use shared_abi::event::PortState;

entry_point!(main, config = &scenario::MEMORY_CONFIG);

static RECEIVED: AtomicU64 = AtomicU64::new(0);

fn on_event(_port: u32) {
    RECEIVED.fetch_add(1, Ordering::SeqCst);
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    let info = scenario::start_info();
    let peer = scenario::find_domain(scenario::arg(info.args(), "peer").unwrap_or(""));
    match scenario::arg(info.args(), "role") {
        Some("flood") => {
            let ms = scenario::number(info.args(), "ms", 500);
            let port = hv::events::alloc_unbound(peer)
                .unwrap_or_else(|_| scenario::fail(format_args!("alloc")));
            scenario::wait_until_connected(port);
            let until = now_ns() + ms * 1_000_000;
            let mut sent = 0u64;
            while now_ns() < until {
                if hv::events::send(port).is_ok() {
                    sent += 1;
                }
            }
            println!("sent {sent} events in {ms} ms");
        }
        Some("sink") => {
            let port = scenario::bind_when_offered(peer, 1);
            interrupts::on_port(port, on_event);
            interrupts::enable();
            interrupts::wait_for_event(|| {
                hv::events::status(port).map(|s| s.state) != Ok(PortState::Interdomain)
            });
            let received = RECEIVED.load(Ordering::SeqCst);
            check!(received > 0, "no event arrived");
            println!(
                "received {received} events (sends coalesce while pending); the flooder's port closed"
            );
        }
        _ => scenario::fail(format_args!("role must be flood or sink")),
    }
    scenario::done()
}
