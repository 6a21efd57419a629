//! Helpers for guests that check their own expectations.
//!
//! A scenario guest prints `done` and shuts down with 0 when every check
//! held, or prints `FAIL: ...` and shuts down with 1 at the first check that
//! did not. The test harness reads both the console and the exit code.

use shared_abi::Status;
use shared_abi::start_info::StartInfo;

use crate::{hv, println};

/// This domain's start information (a failed hypercall is a failed check).
pub fn start_info() -> StartInfo {
    match hv::start_info() {
        Ok(info) => info,
        Err(status) => fail(format_args!("start_info failed: {}", status.name())),
    }
}

/// The value of `key=value` in an argument string, if present.
pub fn arg<'a>(args: &'a str, key: &str) -> Option<&'a str> {
    args.split_ascii_whitespace()
        .filter_map(|word| word.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, value)| value)
}

/// The number after `key=` in an argument string, or `default` when the
/// key is absent or not a number.
pub fn number(args: &str, key: &str, default: u64) -> u64 {
    arg(args, key)
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Reports a failed check and ends the domain with code 1.
pub fn fail(why: core::fmt::Arguments<'_>) -> ! {
    println!("FAIL: {why}");
    exit(1)
}

/// Ends the domain with `code` after the console has shown everything
/// written so far.
pub fn exit(code: u64) -> ! {
    hv::exit(code)
}

/// Checks `condition`, failing with `what` if it does not hold.
#[macro_export]
macro_rules! check {
    ($condition:expr, $($what:tt)*) => {
        if !$condition {
            $crate::scenario::fail(format_args!($($what)*));
        }
    };
}

/// Checks that `result` is the refusal `wanted` (a failed check naming
/// `what` otherwise).
pub fn refused<T: core::fmt::Debug>(what: &str, result: Result<T, Status>, wanted: Status) {
    match result {
        Err(status) if status == wanted => {}
        other => fail(format_args!(
            "{what}: got {other:?}, expected {}",
            wanted.name()
        )),
    }
}

/// [`refused`], then prints `what: STATUS` for the harness to see.
pub fn report_refusal<T: core::fmt::Debug>(what: &str, result: Result<T, Status>, wanted: Status) {
    refused(what, result, wanted);
    println!("{what}: {}", wanted.name());
}

/// The value of `result`, or a failed check naming `what` and the status.
pub fn ok<T>(what: &str, result: Result<T, Status>) -> T {
    result.unwrap_or_else(|status| fail(format_args!("{what}: {}", status.name())))
}

/// Reports success and ends the domain with code 0.
pub fn done() -> ! {
    println!("done");
    exit(0)
}

/// Bootloader config for guests that manage their own memory: all of
/// guest-physical memory mapped (the page tables are reached through it).
pub const MEMORY_CONFIG: bootloader_api::BootloaderConfig = hv::entry::BOOT_CONFIG;

/// Sets up guest memory management and the page-fault handler (demand
/// paging first, then `hook`), and registers the heap.
pub fn init_memory(
    boot_info: &bootloader_api::BootInfo,
    hook: Option<crate::traps::PageFaultHook>,
) {
    crate::memory::init(boot_info);
    crate::traps::install_page_fault_handler(hook);
    crate::memory::heap::init();
}

/// Sets up memory, virtual interrupts (left masked) and the page-fault
/// handler: what event-driven scenario guests start with.
pub fn init_interrupts(boot_info: &bootloader_api::BootInfo) {
    init_memory(boot_info, None);
    if let Err(status) = crate::interrupts::init() {
        fail(format_args!("interrupts::init: {}", status.name()));
    }
}

/// A fresh 4 KiB frame of this guest: its guest-physical address (for
/// block requests) and its bytes (a failed check when memory is out).
pub fn page() -> (u64, &'static mut [u8]) {
    let phys = crate::memory::frames::allocate().unwrap_or_else(|| fail(format_args!("no frame")));
    // SAFETY: the frame is this guest's own, just allocated and used by
    // no one else, mapped at the physical-memory offset.
    (phys, unsafe {
        core::slice::from_raw_parts_mut(crate::memory::phys_to_virt(phys), 4096)
    })
}

/// Looks up domain `name`, yielding until it exists.
pub fn find_domain(name: &str) -> u32 {
    for _ in 0..10_000 {
        if let Ok(id) = crate::hv::events::domain_lookup(name) {
            return id;
        }
        crate::hv::yield_now();
    }
    fail(format_args!("domain '{name}' never appeared"))
}

/// A loopback pair of event-channel ports in this domain: what is sent on
/// the first arrives at the second. Fails the scenario if either call does.
pub fn loopback_pair() -> (u32, u32) {
    let me = start_info().domain_id;
    let a = crate::hv::events::alloc_unbound(me)
        .unwrap_or_else(|s| fail(format_args!("alloc: {}", s.name())));
    let b = crate::hv::events::bind_interdomain(me, a)
        .unwrap_or_else(|s| fail(format_args!("bind: {}", s.name())));
    (a, b)
}

/// Binds port `remote_port` of domain `peer` once the peer has offered it,
/// yielding until then.
pub fn bind_when_offered(peer: u32, remote_port: u32) -> u32 {
    for _ in 0..100_000 {
        match crate::hv::events::bind_interdomain(peer, remote_port) {
            Ok(port) => return port,
            Err(_) => crate::hv::yield_now(),
        }
    }
    fail(format_args!(
        "port {remote_port} of domain {peer} was never offered"
    ))
}

/// Yields until the peer has bound the port `port` this domain offered.
pub fn wait_until_connected(port: u32) {
    let connected = || {
        crate::hv::events::status(port).map(|s| s.state)
            == Ok(shared_abi::event::PortState::Interdomain)
    };
    while !connected() {
        crate::hv::yield_now();
    }
}
