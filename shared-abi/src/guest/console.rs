//! The split console's frontend: an output ring the guest fills and an
//! input ring it empties, in a page shared with the backend, plus the
//! console VIRQ for notifications.
//!
//! Writing never drops a byte: when the output ring is full the writer
//! notifies the backend and sleeps until it signals that it drained the
//! ring. The backend also drains whenever the guest sleeps or its time
//! slice ends, so short writes need no notification at all.
//!
//! Order: [`memory::init`](super::memory::init) and
//! [`interrupts::init`], then [`init`] (the
//! runtime's [`init`](super::init) does all three). Until [`init`],
//! [`write()`] and `print!` use the early (hypercall) console and there is no
//! input. Reading and writing sleep with [`interrupts::wait_for_event`], so
//! they return with virtual interrupts enabled.
//!
//! ```no_run
//! use shared_abi::guest::console;
//! let mut buffer = [0u8; 64];
//! match console::read_line(&mut buffer) {
//!     Some(line) => shared_abi::println!("you typed {line:?}"),
//!     None => shared_abi::println!("end of input"),
//! }
//! ```

use core::sync::atomic::{AtomicU32, Ordering};

use spin::Once;

use super::interrupts;
use super::memory::{frames, phys_to_virt};
use crate::Status;
use crate::event::Virq;
use crate::guest as hv;
use crate::ring::ConsoleRings;

/// The byte the console backend sends for end of input (`Ctrl-D`).
pub const END_OF_INPUT: u8 = 0x04;
const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7f;

static RINGS: Once<&'static ConsoleRings> = Once::new();
static PORT: AtomicU32 = AtomicU32::new(0);

/// Attaches the split console: binds the console VIRQ and attaches a ring
/// page from [`frames`].
///
/// # Errors
///
/// `AlreadyBound` when the console VIRQ has a port (called twice),
/// `NotReady` before [`interrupts::init`], `LimitReached` when no frame or
/// port is left, and the errors of `console_attach`.
pub fn init() -> Result<(), Status> {
    let port = interrupts::bind_virq(Virq::Console, |_| {})?;
    PORT.store(port, Ordering::SeqCst);
    let page = frames::allocate().ok_or(Status::LimitReached)?;
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

/// Notifies the backend through the console VIRQ port (it runs before this
/// domain resumes). [`write`](write()) and [`flush`] do it when needed.
pub fn notify() {
    let _ = hv::events::send(PORT.load(Ordering::SeqCst));
}

/// Writes all of `bytes`, sleeping while the output ring is full (on the
/// early console, unbuffered, before [`init`]).
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

/// Waits until the backend has taken everything written so far (nothing to
/// wait for before [`init`]: the early console is synchronous).
pub fn flush() {
    if let Some(rings) = RINGS.get() {
        let ring = rings.output_ring();
        if !ring.is_empty() {
            notify();
            interrupts::wait_for_event(|| ring.is_empty());
        }
    }
}

/// Reads whatever input is available into `buffer` (without waiting);
/// returns how many bytes it read (0 before [`init`]).
pub fn read(buffer: &mut [u8]) -> usize {
    RINGS
        .get()
        .map_or(0, |rings| rings.input_ring().consume(buffer) as usize)
}

/// Whether input is waiting to be read (never before [`init`]).
pub fn input_pending() -> bool {
    RINGS
        .get()
        .is_some_and(|rings| !rings.input_ring().is_empty())
}

/// Sleeps until input is available (returns at once before [`init`]).
pub fn wait_for_input() {
    if let Some(rings) = RINGS.get() {
        let ring = rings.input_ring();
        interrupts::wait_for_event(|| !ring.is_empty());
    }
}

/// Reads one line into `buffer`, echoing it and handling backspace, and
/// returns it without its end (`\r` or `\n`). Only printable ASCII is kept
/// (a tab becomes a space); bytes beyond `buffer`'s length are dropped.
/// Returns `None` at end of input (`Ctrl-D` on an empty line) and before
/// [`init`] (there is no input then).
pub fn read_line(buffer: &mut [u8]) -> Option<&str> {
    if !attached() {
        return None;
    }
    let mut len = 0;
    let mut byte = [0u8; 1];
    loop {
        if read(&mut byte) == 0 {
            wait_for_input();
            continue;
        }
        match byte[0] {
            b'\r' | b'\n' => {
                write(b"\n");
                break;
            }
            END_OF_INPUT if len == 0 => return None,
            BACKSPACE | DELETE if len > 0 => {
                len -= 1;
                write(&[BACKSPACE]);
            }
            byte @ (b'\t' | 0x20..=0x7e) if len < buffer.len() => {
                let byte = if byte == b'\t' { b' ' } else { byte };
                buffer[len] = byte;
                len += 1;
                write(&[byte]);
            }
            _ => {}
        }
    }
    // Only printable ASCII was stored.
    core::str::from_utf8(&buffer[..len]).ok()
}
