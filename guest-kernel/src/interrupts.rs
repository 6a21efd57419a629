//! Virtual interrupts for the guest kernel: the shared-information page,
//! per-port handlers run from the upcall, masking, and waiting for events.
//!
//! Masking is a byte in the shared page (`disable`/`enable`), no hypercall;
//! enabling with something pending costs one `force_callback`. Handlers run
//! with virtual interrupts masked and must not take locks that interrupted
//! code may hold (the heap allocator, for one).

use core::sync::atomic::{AtomicUsize, Ordering};

use shared_abi::event::Virq;
use shared_abi::guest::upcall::{self, UpcallContext};
use shared_abi::shared_info::{MAX_PORTS, SharedInfo};
use spin::Once;

use crate::memory::{frames, phys_to_virt};
use crate::{hv, threads};

/// A handler for events on one port.
pub type PortHandler = fn(port: u32);

static SHARED: Once<&'static SharedInfo> = Once::new();
static BLOCKED_CYCLES: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
static HANDLERS: [AtomicUsize; MAX_PORTS as usize] =
    [const { AtomicUsize::new(0) }; MAX_PORTS as usize];

/// Registers a shared-information page and the upcall entry. Virtual
/// interrupts start masked; call [`enable`]. Needs `memory::init`.
pub fn init() {
    SHARED.call_once(|| {
        let page = frames::allocate().expect("no frame for the shared-information page");
        if let Err(status) = hv::events::register_shared_info(page) {
            panic!("register_shared_info: {}", status.name());
        }
        if let Err(status) = upcall::set_handler(on_upcall) {
            panic!("set_callback: {}", status.name());
        }
        // SAFETY: the page is this guest's, mapped at the physical offset,
        // and stays registered for the guest's lifetime.
        unsafe { &*phys_to_virt(page).cast::<SharedInfo>() }
    });
}

/// The shared-information page.
pub fn shared() -> &'static SharedInfo {
    SHARED.get().expect("interrupts::init not called")
}

/// Masks virtual interrupts; returns whether they were enabled.
pub fn disable() -> bool {
    shared().vcpu.upcall_mask.swap(1, Ordering::SeqCst) == 0
}

/// Unmasks virtual interrupts; delivers anything pending at once.
pub fn enable() {
    let vcpu = &shared().vcpu;
    vcpu.upcall_mask.store(0, Ordering::SeqCst);
    if vcpu.upcall_pending.load(Ordering::SeqCst) != 0 {
        hv::events::force_callback();
    }
}

/// Runs `f` with virtual interrupts masked.
pub fn without<R>(f: impl FnOnce() -> R) -> R {
    let was_enabled = disable();
    let result = f();
    if was_enabled {
        enable();
    }
    result
}

/// Installs `handler` for `port`.
pub fn on_port(port: u32, handler: PortHandler) {
    HANDLERS[port as usize % MAX_PORTS as usize].store(handler as usize, Ordering::Release);
}

/// Binds `virq` to a new port with `handler`.
pub fn bind_virq(virq: Virq, handler: PortHandler) -> Result<u32, shared_abi::Status> {
    let port = hv::events::bind_virq(virq)?;
    on_port(port, handler);
    Ok(port)
}

/// Masks one port (events stay pending until it is unmasked).
pub fn mask_port(port: u32) {
    shared().mask.fetch_or(1 << port, Ordering::SeqCst);
}

/// Unmasks one port, delivering a pending event.
pub fn unmask_port(port: u32) {
    let _ = hv::events::unmask(port);
}

/// Virtual time in nanoseconds since the domain started.
pub fn now_ns() -> u64 {
    // SAFETY: rdtsc is allowed in ring 3.
    shared()
        .time
        .now_ns(|| unsafe { core::arch::x86_64::_rdtsc() })
}

/// Sleeps (the whole domain) until `ready()` holds, re-checking after every
/// event. `ready` is evaluated with interrupts masked and `block` unmasks
/// and sleeps atomically, so no wake-up is lost.
pub fn wait_for_event(ready: impl Fn() -> bool) {
    loop {
        disable();
        if ready() {
            enable();
            return;
        }
        // SAFETY: rdtsc is allowed in ring 3.
        let start = unsafe { core::arch::x86_64::_rdtsc() };
        let _ = hv::events::block();
        // SAFETY: as above.
        let slept = unsafe { core::arch::x86_64::_rdtsc() } - start;
        BLOCKED_CYCLES.fetch_add(slept, Ordering::Relaxed);
    }
}

/// TSC cycles spent asleep in [`wait_for_event`] (upcalls included), so
/// that a measurement can count only the cycles the guest kept the CPU.
pub fn blocked_cycles() -> u64 {
    BLOCKED_CYCLES.load(Ordering::Relaxed)
}

fn on_upcall(context: *mut UpcallContext) -> *mut UpcallContext {
    let shared = shared();
    loop {
        shared.vcpu.upcall_pending.store(0, Ordering::SeqCst);
        let ready = shared.pending.load(Ordering::SeqCst) & !shared.mask.load(Ordering::SeqCst);
        if ready == 0 {
            break;
        }
        shared.pending.fetch_and(!ready, Ordering::SeqCst);
        for port in 0..MAX_PORTS {
            if ready & (1 << port) == 0 {
                continue;
            }
            let raw = HANDLERS[port as usize].load(Ordering::Acquire);
            if raw != 0 {
                // SAFETY: only PortHandler values are stored.
                let handler: PortHandler =
                    unsafe { core::mem::transmute::<usize, PortHandler>(raw) };
                handler(port);
            }
        }
    }
    threads::after_upcall(context)
}
