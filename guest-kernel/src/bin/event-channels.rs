//! Scenario guest: event-channel semantics in one domain. Events sent while
//! a port (or all events) is masked are delivered exactly once after
//! unmasking, and every misuse returns its status.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::interrupts;
use guest_kernel::{check, hv, println, scenario};
use shared_abi::Status;
use shared_abi::event::{PortState, Virq};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

static DELIVERED: AtomicU64 = AtomicU64::new(0);

fn count(_port: u32) {
    DELIVERED.fetch_add(1, Ordering::SeqCst);
}

fn delivered() -> u64 {
    DELIVERED.load(Ordering::SeqCst)
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_memory(boot_info, None);
    check!(
        hv::events::bind_virq(Virq::Timer) == Err(Status::NotReady),
        "events before the shared page"
    );
    check!(interrupts::init().is_ok(), "interrupts::init");
    let me = scenario::start_info().domain_id;
    // A loopback pair: what is sent on `a` arrives at `b`.
    let (a, b) = scenario::loopback_pair();
    interrupts::on_port(b, count);
    interrupts::enable();

    check!(hv::events::send(a).is_ok(), "send");
    check!(
        delivered() == 1,
        "an unmasked event is delivered at once: {}",
        delivered()
    );

    interrupts::mask_port(b);
    for _ in 0..100 {
        check!(hv::events::send(a).is_ok(), "send while the port is masked");
    }
    check!(
        delivered() == 1,
        "nothing delivered while the port is masked: {}",
        delivered()
    );
    interrupts::unmask_port(b);
    check!(
        delivered() == 2,
        "exactly one delivery after unmasking the port: {}",
        delivered()
    );
    println!("port mask: 100 sends while masked, delivered once after unmask");

    interrupts::disable();
    for _ in 0..50 {
        check!(hv::events::send(a).is_ok(), "send while masked");
    }
    check!(
        delivered() == 2,
        "nothing delivered with interrupts masked: {}",
        delivered()
    );
    interrupts::enable();
    check!(
        delivered() == 3,
        "exactly one delivery after enabling: {}",
        delivered()
    );
    println!("global mask: 50 sends while masked, delivered once after enable");

    let expect = |what: &str, got: Result<(), Status>, want: Status| {
        check!(
            got == Err(want),
            "{what}: got {got:?}, expected {}",
            want.name()
        );
    };
    expect("send on port 0", hv::events::send(0), Status::BadPort);
    expect("send on a free port", hv::events::send(60), Status::BadPort);
    expect("send on port 1000", hv::events::send(1000), Status::BadPort);
    let timer = hv::events::bind_virq(Virq::Timer)
        .unwrap_or_else(|_| scenario::fail(format_args!("bind timer")));
    expect(
        "double VIRQ bind",
        hv::events::bind_virq(Virq::Timer).map(|_| ()),
        Status::AlreadyBound,
    );
    check!(
        hv::events::status(timer).map(|s| s.state) == Ok(PortState::Virq),
        "timer port status"
    );
    expect(
        "double interdomain bind",
        hv::events::bind_interdomain(me, a).map(|_| ()),
        Status::AlreadyBound,
    );
    expect(
        "bind to a missing domain",
        hv::events::bind_interdomain(99, 1).map(|_| ()),
        Status::BadPort,
    );
    expect(
        "offer to a missing domain",
        hv::events::alloc_unbound(999).map(|_| ()),
        Status::BadPort,
    );
    check!(hv::events::close(b).is_ok(), "close");
    expect("close twice", hv::events::close(b), Status::BadPort);
    expect(
        "send to a closed peer",
        hv::events::send(a),
        Status::BadPort,
    );
    check!(
        hv::events::status(a).map(|s| s.state) == Ok(PortState::Unbound),
        "peer of a closed port is unbound"
    );
    check!(
        hv::events::status(b).map(|s| s.state) == Ok(PortState::Free),
        "closed port is free"
    );
    expect(
        "status of port 0",
        hv::events::status(0).map(|_| ()),
        Status::BadPort,
    );
    let mut allocated = 0;
    while hv::events::alloc_unbound(me).is_ok() {
        allocated += 1;
    }
    expect(
        "ports exhausted",
        hv::events::alloc_unbound(me).map(|_| ()),
        Status::LimitReached,
    );
    println!("misuse statuses checked; {allocated} more ports before the limit");
    scenario::done()
}
