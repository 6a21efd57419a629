//! The split console's frontend: an output ring the guest fills and an
//! input ring it empties, in a page shared with the backend, plus the
//! console VIRQ for notifications.
//!
//! Writing never drops a byte: when the output ring is full the writer
//! notifies the backend and sleeps until it signals that it drained the
//! ring. The backend also drains whenever the guest sleeps or its time
//! slice ends, so short writes need no notification at all.

use core::sync::atomic::{AtomicU32, Ordering};

use shared_abi::event::Virq;
use shared_abi::ring::ConsoleRings;
use spin::Once;

use crate::hv;
use crate::interrupts;
use crate::memory::{frames, phys_to_virt};

static RINGS: Once<&'static ConsoleRings> = Once::new();
static PORT: AtomicU32 = AtomicU32::new(0);

/// Attaches the split console. Needs `memory::init` and `interrupts::init`.
/// Until then `print!` uses the early (hypercall) console.
pub fn init() -> Result<(), shared_abi::Status> {
    let port = interrupts::bind_virq(Virq::Console, |_| {})?;
    PORT.store(port, Ordering::SeqCst);
    let page = frames::allocate().ok_or(shared_abi::Status::LimitReached)?;
    hv::devices::console_attach(page)?;
    // SAFETY: the page is this guest's, mapped at the physical offset, and
    // stays attached for the guest's lifetime.
    RINGS.call_once(|| unsafe { &*phys_to_virt(page).cast::<ConsoleRings>() });
    Ok(())
}

/// Whether the split console is attached.
pub fn attached() -> bool {
    RINGS.get().is_some()
}

/// Notifies the backend (it runs before this domain resumes).
pub fn notify() {
    let _ = hv::events::send(PORT.load(Ordering::SeqCst));
}

/// Writes all of `bytes`, sleeping while the output ring is full.
pub fn write(mut bytes: &[u8]) {
    let Some(rings) = RINGS.get() else {
        let _ = hv::console_write(bytes);
        return;
    };
    let ring = rings.output_ring();
    loop {
        let taken = ring.produce(bytes) as usize;
        bytes = &bytes[taken..];
        if bytes.is_empty() {
            return;
        }
        notify();
        interrupts::wait_for_event(|| ring.len() < ring.capacity());
    }
}

/// Waits until the backend has taken everything written so far.
pub fn flush() {
    if let Some(rings) = RINGS.get() {
        let ring = rings.output_ring();
        if !ring.is_empty() {
            notify();
            interrupts::wait_for_event(|| ring.is_empty());
        }
    }
}

/// Reads whatever input is available into `buffer` (without waiting).
pub fn read(buffer: &mut [u8]) -> usize {
    RINGS
        .get()
        .map_or(0, |rings| rings.input_ring().consume(buffer) as usize)
}

/// Sleeps until input is available.
pub fn wait_for_input() {
    if let Some(rings) = RINGS.get() {
        let ring = rings.input_ring();
        interrupts::wait_for_event(|| !ring.is_empty());
    }
}
