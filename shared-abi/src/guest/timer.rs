//! The guest's clock on the timer VIRQ: a periodic tick with a tick count
//! and a hook, and [`sleep`], which arms the one-shot timer for its own
//! deadline (so it needs no tick, and with a tick running it wakes at its
//! deadline rather than at the next tick).
//!
//! The hypervisor gives each domain one one-shot timer (`set_timer`); this
//! module multiplexes it between the tick and sleepers, always arming the
//! earliest deadline. Order: [`interrupts::init`]
//! (done by the runtime's [`init`](super::init)), then [`start_tick`] if you
//! want ticks, then [`enable`](super::interrupts::enable) for them to
//! arrive. [`sleep`] works without a tick. A guest that binds the timer
//! VIRQ itself cannot use this module (the VIRQ has one port).
//!
//! ```no_run
//! use shared_abi::guest::{interrupts, timer};
//! timer::start_tick(timer::TICK_NS)?;
//! interrupts::enable();
//! timer::sleep(50_000_000);
//! assert!(timer::ticks() >= 4);
//! # Ok::<(), shared_abi::Status>(())
//! ```

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use spin::Once;

use super::interrupts::{self, now_ns};
use crate::Status;
use crate::event::Virq;
use crate::guest as hv;

/// The default tick period (10 ms).
pub const TICK_NS: u64 = 10_000_000;

static PORT: Once<u32> = Once::new();
static PERIOD: AtomicU64 = AtomicU64::new(0);
static TICKS: AtomicU64 = AtomicU64::new(0);
static NEXT_TICK: AtomicU64 = AtomicU64::new(0);
static WAKE_AT: AtomicU64 = AtomicU64::new(0);
static TICK_HOOK: AtomicUsize = AtomicUsize::new(0);

/// Binds the timer VIRQ to this module's handler (once).
fn bind() -> Result<(), Status> {
    PORT.try_call_once(|| interrupts::bind_virq(Virq::Timer, on_timer))
        .map(|_| ())
}

/// Starts a periodic tick every `period_ns` (replacing any earlier period).
///
/// # Errors
///
/// [`Status::InvalidArgument`] for a zero period; the errors of
/// `event_bind_virq` (`AlreadyBound` when the guest bound the timer VIRQ
/// itself, `NotReady` before [`interrupts::init`]).
pub fn start_tick(period_ns: u64) -> Result<(), Status> {
    if period_ns == 0 {
        return Err(Status::InvalidArgument);
    }
    bind()?;
    interrupts::without(|| {
        PERIOD.store(period_ns, Ordering::SeqCst);
        NEXT_TICK.store(now_ns() + period_ns, Ordering::SeqCst);
        arm();
    });
    Ok(())
}

/// Starts the tick with the default period [`TICK_NS`].
///
/// # Panics
///
/// When [`start_tick`] fails.
pub fn init() {
    if let Err(status) = start_tick(TICK_NS) {
        panic!("bind timer VIRQ: {}", status.name());
    }
}

/// Installs `hook`, called from the upcall on every tick (with virtual
/// interrupts masked: it must not take locks interrupted code may hold).
pub fn set_tick_hook(hook: fn()) {
    TICK_HOOK.store(hook as usize, Ordering::Release);
}

/// Ticks since [`start_tick`].
pub fn ticks() -> u64 {
    TICKS.load(Ordering::SeqCst)
}

/// Sleeps (the whole domain) for at least `ns` of virtual time, with the
/// one-shot timer armed for the deadline; returns with virtual interrupts
/// enabled. Other events are handled meanwhile.
///
/// # Panics
///
/// When the timer VIRQ cannot be bound (see [`start_tick`]).
pub fn sleep(ns: u64) {
    if let Err(status) = bind() {
        panic!("bind timer VIRQ: {}", status.name());
    }
    wait_until(now_ns().saturating_add(ns), || false);
}

/// Sleeps until `ready()` holds or virtual time reaches `deadline_ns`,
/// with the one-shot timer armed for the deadline; returns whether
/// `ready()` held. Without the timer VIRQ (a guest that bound it itself)
/// there is no deadline: it waits for `ready()` alone. Returns with virtual
/// interrupts enabled.
pub fn wait_until(deadline_ns: u64, ready: impl Fn() -> bool) -> bool {
    let timed = bind().is_ok();
    let done = core::cell::Cell::new(false);
    interrupts::wait_for_event(|| {
        if ready() {
            done.set(true);
            return true;
        }
        if !timed {
            return false;
        }
        if now_ns() >= deadline_ns {
            return true;
        }
        // Masked here: the upcall cannot change the deadlines meanwhile.
        let wake = WAKE_AT.load(Ordering::SeqCst);
        if wake == 0 || deadline_ns < wake {
            WAKE_AT.store(deadline_ns, Ordering::SeqCst);
            arm();
        }
        false
    });
    done.get()
}

/// Arms the one-shot timer for the earliest of the next tick and the
/// earliest sleeper (called with virtual interrupts masked).
fn arm() {
    let next = [
        NEXT_TICK.load(Ordering::SeqCst),
        WAKE_AT.load(Ordering::SeqCst),
    ]
    .into_iter()
    .filter(|&deadline| deadline != 0)
    .min();
    if let Some(deadline) = next {
        let _ = hv::events::set_timer(deadline);
    }
}

fn on_timer(_port: u32) {
    let now = now_ns();
    let period = PERIOD.load(Ordering::SeqCst);
    let mut next = NEXT_TICK.load(Ordering::SeqCst);
    if period != 0 && next <= now {
        TICKS.fetch_add(1, Ordering::SeqCst);
        while next <= now {
            next += period;
        }
        NEXT_TICK.store(next, Ordering::SeqCst);
        let hook = TICK_HOOK.load(Ordering::Acquire);
        if hook != 0 {
            // SAFETY: only `fn()` values are stored.
            let hook: fn() = unsafe { core::mem::transmute::<usize, fn()>(hook) };
            hook();
        }
    }
    if WAKE_AT.load(Ordering::SeqCst) <= now {
        WAKE_AT.store(0, Ordering::SeqCst);
    }
    arm();
}
