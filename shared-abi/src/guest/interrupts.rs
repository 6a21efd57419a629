//! Virtual interrupts: the shared-information page, per-port handlers run
//! from the upcall, masking, virtual time, and waiting for events.
//!
//! Order: [`memory::init`](super::memory::init), then [`init`] (both done by
//! the runtime's [`init`](super::init)); then bind ports ([`bind_virq`],
//! or the [`events`](super::events) wrappers with [`on_port`]), then
//! [`enable`]. Virtual interrupts start masked.
//!
//! Masking is a byte in the shared page ([`disable`]/[`enable`]), no
//! hypercall; enabling with something pending costs one `force_callback`.
//! Handlers run with virtual interrupts masked and must not take locks that
//! interrupted code may hold (a heap allocator, for one).
//!
//! ```no_run
//! use shared_abi::event::Virq;
//! use shared_abi::guest::{events, interrupts};
//! use core::sync::atomic::{AtomicBool, Ordering};
//! static FIRED: AtomicBool = AtomicBool::new(false);
//! interrupts::bind_virq(Virq::Timer, |_| FIRED.store(true, Ordering::SeqCst))?;
//! events::set_timer(interrupts::now_ns() + 1_000_000)?;
//! interrupts::wait_for_event(|| FIRED.load(Ordering::SeqCst));
//! # Ok::<(), shared_abi::Status>(())
//! ```

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use spin::Once;

use super::memory::{frames, phys_to_virt};
use super::upcall::{self, UpcallContext, UpcallHandler};
use crate::Status;
use crate::event::Virq;
use crate::guest as hv;
use crate::shared_info::{MAX_PORTS, SharedInfo};

/// A handler for events on one port.
pub type PortHandler = fn(port: u32);

static SHARED: Once<&'static SharedInfo> = Once::new();
static BLOCKED_CYCLES: AtomicU64 = AtomicU64::new(0);
static HANDLERS: [AtomicUsize; MAX_PORTS as usize] =
    [const { AtomicUsize::new(0) }; MAX_PORTS as usize];
static UPCALL_EXIT: AtomicUsize = AtomicUsize::new(0);

/// Registers a shared-information page (a frame from
/// [`frames`]) and the upcall entry. Virtual
/// interrupts start masked; call [`enable`]. Calling it again does nothing.
///
/// # Errors
///
/// [`Status::LimitReached`] when no frame is left for the page, and the
/// errors of `register_shared_info` and `set_callback`.
///
/// # Panics
///
/// Before [`memory::init`](super::memory::init).
pub fn init() -> Result<(), Status> {
    SHARED
        .try_call_once(|| {
            let page = frames::allocate().ok_or(Status::LimitReached)?;
            hv::events::register_shared_info(page)?;
            upcall::set_handler(on_upcall)?;
            // SAFETY: the page is this guest's, mapped at the physical
            // offset, and stays registered for the guest's lifetime.
            Ok(unsafe { &*phys_to_virt(page).cast::<SharedInfo>() })
        })
        .map(|_| ())
}

/// The shared-information page.
///
/// # Panics
///
/// Before [`init`].
pub fn shared() -> &'static SharedInfo {
    SHARED.get().expect("interrupts::init not called")
}

/// Installs `exit`, called at the end of every upcall with the interrupted
/// context; it returns the context to resume (another thread's, to switch
/// threads). Without one the interrupted context resumes.
pub fn set_upcall_exit(exit: UpcallHandler) {
    UPCALL_EXIT.store(exit as usize, Ordering::Release);
}

/// Masks virtual interrupts; returns whether they were enabled. Needs [`init`].
pub fn disable() -> bool {
    shared().vcpu.upcall_mask.swap(1, Ordering::SeqCst) == 0
}

/// Unmasks virtual interrupts; delivers anything pending at once (one
/// `force_callback`, only when something is pending). Needs [`init`].
pub fn enable() {
    let vcpu = &shared().vcpu;
    vcpu.upcall_mask.store(0, Ordering::SeqCst);
    if vcpu.upcall_pending.load(Ordering::SeqCst) != 0 {
        hv::events::force_callback();
    }
}

/// Runs `f` with virtual interrupts masked, then restores the flag as it
/// was (nesting works). Needs [`init`].
pub fn without<R>(f: impl FnOnce() -> R) -> R {
    let was_enabled = disable();
    let result = f();
    if was_enabled {
        enable();
    }
    result
}

/// Installs `handler` for `port` (a port from the [`events`](super::events)
/// wrappers). Events on a port without a handler are consumed unseen.
pub fn on_port(port: u32, handler: PortHandler) {
    HANDLERS[port as usize % MAX_PORTS as usize].store(handler as usize, Ordering::Release);
}

/// Binds `virq` to a new port with `handler`; returns the port.
///
/// # Errors
///
/// As [`events::bind_virq`](super::events::bind_virq): `AlreadyBound` when
/// the VIRQ has a port, `LimitReached`, `NotReady` before [`init`].
pub fn bind_virq(virq: Virq, handler: PortHandler) -> Result<u32, Status> {
    let port = hv::events::bind_virq(virq)?;
    on_port(port, handler);
    Ok(port)
}

/// Masks one port: its events stay pending until [`unmask_port`]. A bit in
/// the shared page, no hypercall. Needs [`init`].
pub fn mask_port(port: u32) {
    shared().mask.fetch_or(1 << port, Ordering::SeqCst);
}

/// Unmasks one port, delivering an event that arrived while it was masked
/// (the `event_unmask` hypercall; a `BadPort` answer for a port not in use
/// is ignored).
pub fn unmask_port(port: u32) {
    let _ = hv::events::unmask(port);
}

/// Virtual time in nanoseconds since the domain started, read from the
/// shared page and the TSC (no hypercall). Needs [`init`].
pub fn now_ns() -> u64 {
    // SAFETY: rdtsc is allowed in ring 3.
    shared()
        .time
        .now_ns(|| unsafe { core::arch::x86_64::_rdtsc() })
}

/// Sleeps (the whole domain) until `ready()` holds, re-checking after every
/// event; returns with virtual interrupts enabled. `ready` is evaluated with
/// interrupts masked and `block` unmasks and sleeps atomically, so an event
/// that makes `ready` true cannot slip in between the check and the sleep.
/// Something must eventually raise an event (a timer armed, a port bound),
/// or the domain sleeps for ever and the hypervisor reports it. Needs
/// [`init`].
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

/// Takes the events an upcall is for: clears `upcall_pending`, then the
/// pending bits of unmasked ports, and returns those bits (0: nothing
/// left). An upcall handler calls it until it returns 0, handling each
/// port whose bit is set; the runtime's own handler does, and so can a
/// kernel that takes upcalls another way. Needs [`init`].
pub fn take_pending() -> u64 {
    let shared = shared();
    shared.vcpu.upcall_pending.store(0, Ordering::SeqCst);
    let ready = shared.pending.load(Ordering::SeqCst) & !shared.mask.load(Ordering::SeqCst);
    if ready != 0 {
        shared.pending.fetch_and(!ready, Ordering::SeqCst);
    }
    ready
}

fn on_upcall(context: *mut UpcallContext) -> *mut UpcallContext {
    loop {
        let ready = take_pending();
        if ready == 0 {
            break;
        }
        // Only the set bits, lowest port first.
        let mut left = ready;
        while left != 0 {
            let port = left.trailing_zeros();
            left &= left - 1;
            let raw = HANDLERS[port as usize].load(Ordering::Acquire);
            if raw != 0 {
                // SAFETY: only PortHandler values are stored.
                let handler: PortHandler =
                    unsafe { core::mem::transmute::<usize, PortHandler>(raw) };
                handler(port);
            }
        }
    }
    let exit = UPCALL_EXIT.load(Ordering::Acquire);
    if exit == 0 {
        return context;
    }
    // SAFETY: only `UpcallHandler` values are stored.
    let exit: UpcallHandler = unsafe { core::mem::transmute::<usize, UpcallHandler>(exit) };
    exit(context)
}
