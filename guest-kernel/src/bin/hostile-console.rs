//! Hostile scenario guest: connects the split console, prints a line
//! properly, then corrupts a ring index in the page it granted the
//! console server (`mode=beyond`: the output producer far past the ring;
//! `mode=backwards`: the input consumer moved back) and notifies it. The
//! server must disconnect this console, say so once, and go on serving
//! everyone else; the guest carries on and reports through the early
//! console.
//!
//! `mode=refusals` asks `frontend_connect(Console)` for what it must
//! refuse: a read-only grant, a grant to another domain, a forged
//! reference, a port not offered to the console server; then shuts down.
//!
//! `mode=last-words` and `mode=last-shutdown` leave [`LAST_WORDS`] lines in
//! the output ring and at once execute `ud2` (no handler: the hypervisor
//! stops the domain) or call `shutdown(3)` without flushing: every line
//! must still be shown (before the hypervisor's report of the stop), though
//! the ring's grant is gone by then.
#![no_std]
#![no_main]

use core::sync::atomic::Ordering;

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::{check, drivers, hv, println, scenario, timer};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

/// Lines the `last-*` modes leave in the output ring (about 400 bytes, well
/// within its 2 KiB).
const LAST_WORDS: u32 = 20;

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    guest_kernel::interrupts::enable();
    timer::init();
    if drivers::console::init().is_err() {
        scenario::fail(format_args!("console init"));
    }
    let info = scenario::start_info();
    let mode = scenario::arg(info.args(), "mode");
    if let Some(ending @ ("last-words" | "last-shutdown")) = mode {
        for line in 1..=LAST_WORDS {
            println!("last words {line}/{LAST_WORDS}");
        }
        match ending {
            // SAFETY: raises #UD on purpose, with no handler for it: the
            // hypervisor stops this domain.
            "last-words" => unsafe { core::arch::asm!("ud2", options(noreturn)) },
            _ => hv::shutdown(3),
        }
    }
    if mode == Some("refusals") {
        refusals();
    }
    println!("console attached, about to corrupt it");
    drivers::console::flush();
    let Some(rings) = drivers::console::rings().filter(|_| drivers::console::connected()) else {
        scenario::fail(format_args!("no console server has the rings"));
    };
    match mode {
        Some("backwards") => rings
            .in_cons
            .store(0u32.wrapping_sub(5000), Ordering::SeqCst),
        _ => rings.out_prod.store(100_000, Ordering::SeqCst),
    }
    // Notify repeatedly: the server must report once and stay up.
    for _ in 0..5 {
        drivers::console::notify();
        timer::sleep(20_000_000);
    }
    let line = b"still running after corrupting my console\n";
    let _ = hv::console_write(line);
    hv::shutdown(0)
}

/// `frontend_connect(Console)` refuses a ring page the console server
/// could not write, or that is not lent to it, and a port it was not
/// offered; the console stays connected throughout.
fn refusals() -> ! {
    use shared_abi::Status;
    use shared_abi::backend::Kind;
    use shared_abi::grant::GrantRef;

    let server = scenario::ok(
        "backend_domain(Console)",
        hv::backend::domain(Kind::Console),
    );
    let me = scenario::start_info().domain_id;
    let (page, _) = scenario::page();
    let port = scenario::ok("alloc_unbound", hv::events::alloc_unbound(server));
    let connect = |reference: GrantRef, port: u32| {
        hv::backend::connect(Kind::Console, reference.raw() as u32, port)
    };
    let read_only = scenario::ok("grant read-only", hv::grant::access(server, page, true));
    scenario::report_refusal(
        "frontend_connect(Console, read-only grant)",
        connect(read_only, port),
        Status::InvalidArgument,
    );
    let other = scenario::find_domain("alpha");
    let elsewhere = scenario::ok("grant to alpha", hv::grant::access(other, page, false));
    scenario::report_refusal(
        "frontend_connect(Console, grant to another domain)",
        connect(elsewhere, port),
        Status::InvalidArgument,
    );
    scenario::report_refusal(
        "frontend_connect(Console, forged reference)",
        connect(GrantRef::from_raw(0xdead_beef), port),
        Status::InvalidArgument,
    );
    let writable = scenario::ok("grant", hv::grant::access(server, page, false));
    let own = scenario::ok("alloc_unbound(self)", hv::events::alloc_unbound(me));
    scenario::report_refusal(
        "frontend_connect(Console, port not offered to the server)",
        connect(writable, own),
        Status::BadPort,
    );
    check!(
        drivers::console::connected(),
        "the console was disconnected"
    );
    scenario::done()
}
