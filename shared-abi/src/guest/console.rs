//! The split console's frontend: an output ring the guest fills and an
//! input ring it empties, in a page granted to the console server (the
//! driver domain's `Kind::Console` backend) for copying only, with an
//! event channel both ways.
//!
//! Writing never drops a byte: when the output ring is full the writer
//! notifies the server and sleeps until it has drained the ring. A write
//! into an empty ring notifies it too (it may be asleep); a write into a
//! ring it is still draining needs no notification.
//!
//! The server may fail and be restarted (`Virq::Backend` says so): the
//! frontend then grants the same page to whichever server there is, which
//! takes the rings from where its predecessor published its indices (what
//! the old one had taken but not shown is shown again). While there is no
//! server, and in a boot without one, output goes to the early console
//! (what is left in the ring first), and there is no input. A server that
//! hangs up the connection (it found the ring corrupt) leaves the
//! frontend on the early console for good.
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

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use spin::{Mutex, Once};

use super::memory::{frames, phys_to_virt};
use super::{backend, events, grant, interrupts};
use crate::Status;
use crate::backend::Kind;
use crate::event::PortState;
use crate::grant::{COPY_ONLY, GrantRef};
use crate::guest as hv;
use crate::ring::ConsoleRings;

/// The byte the console server sends for end of input (`Ctrl-D`).
pub const END_OF_INPUT: u8 = 0x04;
const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7f;

/// The ring page (guest-physical) and the rings in it, from [`init`].
static RINGS: Once<(u64, &'static ConsoleRings)> = Once::new();
/// The connection, while there is one.
static LINK: Mutex<Option<Link>> = Mutex::new(None);
/// Whether the rings are connected to a server (the fast path's copy of
/// `LINK.is_some()`).
static CONNECTED: AtomicBool = AtomicBool::new(false);
/// The connection's port (valid while [`CONNECTED`]).
static PORT: AtomicU32 = AtomicU32::new(0);
/// Whether a server has ever taken the rings (else there is no input).
static EVER: AtomicBool = AtomicBool::new(false);
/// The backend changes followed so far ([`backend::changed`]).
static SEEN: AtomicU32 = AtomicU32::new(0);
/// Set by the port's handler when the server hung it up.
static HUNG_UP: AtomicBool = AtomicBool::new(false);
/// The server hung up while it lived (a corrupt ring): no reconnecting.
static REFUSED: AtomicBool = AtomicBool::new(false);

/// One connection to a console server.
#[derive(Clone, Copy, Debug)]
struct Link {
    grant: GrantRef,
    port: u32,
}

fn on_ring(port: u32) {
    if events::status(port).is_ok_and(|s| s.state == PortState::Unbound) {
        HUNG_UP.store(true, Ordering::SeqCst);
    }
}

/// Sets up the split console: a ring page from [`frames`], granted to the
/// console server if there is one (else output stays on the early
/// console until one appears: the frontend connects at its next write
/// after `Virq::Backend`). The driver domain runs first at boot, until it
/// first waits, so its console server is normally there already.
///
/// # Errors
///
/// `AlreadyBound` when called twice, `NotReady` before
/// [`interrupts::init`] (no `Virq::Backend`), `LimitReached` when no frame
/// is left.
pub fn init() -> Result<(), Status> {
    if attached() {
        return Err(Status::AlreadyBound);
    }
    if !backend::watch() {
        return Err(Status::NotReady);
    }
    let page = frames::allocate().ok_or(Status::LimitReached)?;
    // SAFETY: the page is this guest's, mapped at the physical offset, and
    // kept for the console for the guest's lifetime.
    let rings = unsafe { &*phys_to_virt(page).cast::<ConsoleRings>() };
    rings.reset();
    RINGS.call_once(|| (page, rings));
    backend::changed(&SEEN);
    connect();
    Ok(())
}

/// Whether [`init`] has set the split console up (connected to a server
/// or not).
pub fn attached() -> bool {
    RINGS.get().is_some()
}

/// Whether the rings are connected to a console server now.
pub fn connected() -> bool {
    CONNECTED.load(Ordering::SeqCst)
}

/// The rings, for tests that corrupt them on purpose.
pub fn rings() -> Option<&'static ConsoleRings> {
    RINGS.get().map(|(_, rings)| *rings)
}

/// Grants the ring page to the console server there is now and connects;
/// without one (or when it refuses), output goes to the early console.
fn connect() {
    let Some(&(page, rings)) = RINGS.get() else {
        return;
    };
    let mut link = LINK.lock();
    drop_link(&mut link);
    HUNG_UP.store(false, Ordering::SeqCst);
    let made = backend::domain(Kind::Console).and_then(|server| {
        // Copied from and to, never mapped: the grant ends at once.
        let reference = grant::access_with(server, page, COPY_ONLY)?;
        let port = events::alloc_unbound(server).inspect_err(|_| {
            let _ = grant::end(reference);
        })?;
        interrupts::on_port(port, on_ring);
        backend::connect(Kind::Console, reference.raw() as u32, port).inspect_err(|_| {
            let _ = events::close(port);
            let _ = grant::end(reference);
        })?;
        Ok(Link {
            grant: reference,
            port,
        })
    });
    match made {
        Ok(made) => {
            *link = Some(made);
            PORT.store(made.port, Ordering::SeqCst);
            CONNECTED.store(true, Ordering::SeqCst);
            EVER.store(true, Ordering::SeqCst);
            // Nothing to signal: the server looks at the rings (whatever
            // waits in them is its now) as it takes the connection.
        }
        // No server to take what is left in the output ring: the early
        // console shows it.
        Err(_) => {
            let mut buffer = [0u8; 256];
            rings.output_ring().take_rest(&mut buffer, |_, bytes| {
                let _ = hv::console_write(bytes);
            });
        }
    }
}

/// Closes the connection in `link`, if there is one: its port, then its
/// grant.
fn drop_link(link: &mut Option<Link>) {
    if let Some(old) = link.take() {
        CONNECTED.store(false, Ordering::SeqCst);
        let _ = events::close(old.port);
        let _ = grant::end(old.grant);
    }
}

/// Follows the server: reconnects when one came or went, and leaves the
/// rings for the early console when the server hung up on this domain.
fn follow() {
    if !attached() {
        return;
    }
    if backend::changed(&SEEN) {
        if !REFUSED.load(Ordering::SeqCst) {
            connect();
        }
    } else if HUNG_UP.swap(false, Ordering::SeqCst) && connected() {
        REFUSED.store(true, Ordering::SeqCst);
        drop_link(&mut LINK.lock());
    }
}

/// Whether [`follow`] has something to do.
fn must_follow() -> bool {
    backend::has_changed(&SEEN) || HUNG_UP.load(Ordering::SeqCst)
}

/// The rings while a server has them.
fn served() -> Option<&'static ConsoleRings> {
    follow();
    match connected() {
        true => rings(),
        false => None,
    }
}

/// Notifies the server (it runs before long). [`write`](write()) and
/// [`flush`] do it when needed.
pub fn notify() {
    if connected() {
        let _ = hv::events::send(PORT.load(Ordering::SeqCst));
    }
}

/// Writes all of `bytes`, sleeping while the output ring is full (on the
/// early console, unbuffered, before [`init`] and while no server has the
/// rings).
pub fn write(mut bytes: &[u8]) {
    loop {
        let Some(rings) = served() else {
            let _ = hv::console_write(bytes);
            return;
        };
        let ring = rings.output_ring();
        let before = ring.prod_index();
        let taken = ring.produce(bytes) as usize;
        bytes = &bytes[taken..];
        // A server that had taken everything may be asleep.
        if taken > 0 && ring.cons_index() == before {
            notify();
        }
        if bytes.is_empty() {
            return;
        }
        notify();
        interrupts::wait_for_event(|| ring.len() < ring.capacity() || must_follow());
    }
}

/// Waits until the server has taken everything written so far (nothing to
/// wait for on the early console, which is synchronous).
pub fn flush() {
    while let Some(rings) = served() {
        let ring = rings.output_ring();
        if ring.is_empty() {
            return;
        }
        notify();
        interrupts::wait_for_event(|| ring.is_empty() || must_follow());
    }
}

/// Reads whatever input is available into `buffer` (without waiting);
/// returns how many bytes it read (0 while no server has the rings).
pub fn read(buffer: &mut [u8]) -> usize {
    let Some(rings) = served() else {
        return 0;
    };
    let ring = rings.input_ring();
    let full = ring.len() >= ring.capacity();
    let count = ring.consume(buffer) as usize;
    // A server with more to give waits for room.
    if full && count > 0 {
        notify();
    }
    count
}

/// Whether input is waiting to be read.
pub fn input_pending() -> bool {
    served().is_some_and(|rings| !rings.input_ring().is_empty())
}

/// Whether input can come at all: a server has had the rings (or has them
/// again after a restart) and did not hang up. When it cannot, a reader
/// takes that as the end of input.
pub fn input_possible() -> bool {
    attached() && EVER.load(Ordering::SeqCst) && !REFUSED.load(Ordering::SeqCst)
}

/// Sleeps until input is available; returns false at once when none can
/// come ([`input_possible`]: before [`init`], in a boot without a console
/// server, or after the server hung up).
pub fn wait_for_input() -> bool {
    while input_possible() {
        if let Some(rings) = served() {
            let ring = rings.input_ring();
            if !ring.is_empty() {
                return true;
            }
            interrupts::wait_for_event(|| !ring.is_empty() || must_follow());
        } else {
            // Between a server's end and its successor.
            interrupts::wait_for_event(must_follow);
        }
    }
    false
}

/// Reads one line into `buffer`, echoing it and handling backspace, and
/// returns it without its end (`\r` or `\n`). Only printable ASCII is kept
/// (a tab becomes a space); bytes beyond `buffer`'s length are dropped.
/// Returns `None` at end of input (`Ctrl-D` on an empty line) and when no
/// input can come (see [`wait_for_input`]).
pub fn read_line(buffer: &mut [u8]) -> Option<&str> {
    let mut len = 0;
    let mut byte = [0u8; 1];
    loop {
        if read(&mut byte) == 0 {
            if !wait_for_input() {
                return None;
            }
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
