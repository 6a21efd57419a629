//! The console server's frontends: each domain's split-console rings,
//! granted to this domain and connected through the directory
//! (`frontend_connect(Console)`, taken here with
//! `backend_accept(Console)`).
//!
//! The server drains each output ring to the terminal and fills each input
//! ring from what was typed for that domain. Every index the frontend
//! writes is hostile: [`ConsoleBackend`] keeps the server's own indices
//! and checks the frontend's; a ring whose index is impossible is
//! disconnected with one line (`console of domain N 'name' disconnected:
//! ...`) and its port closed, which the frontend sees as its port hung up
//! (it goes back to the early console). A frontend whose domain ended is
//! forgotten at its `End` record; what it left in its ring comes before
//! that, as a `Rest` record, whose bytes this server may have taken from
//! the ring itself meanwhile ([`Frontends::rest`]).

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use shared_abi::backend::{Connection, Kind};
use shared_abi::bundle::MAX_ENTRIES;
use shared_abi::console_feed::Rest;
use shared_abi::event::PortState;
use shared_abi::grant::GrantRef;
use shared_abi::guest::{backend, console_server, events};
use shared_abi::ring::{ConsoleBackend, ConsoleRings};
use terminal::Name;
use terminal::escape::END_OF_INPUT;

use super::ring_view::{self, RingMapping};
use crate::{interrupts, println};

/// Typed bytes held for a domain whose input ring is full (or not yet
/// connected); more are dropped, as a keyboard drops keys.
pub const INPUT_QUEUE_LIMIT: usize = 4096;
/// Domains not yet connected that input is held for (as many as there can
/// be domains); a key for another is dropped.
const WAITING_MAX: usize = MAX_ENTRIES as usize;

/// Set by an event on a frontend's port.
static RUNG: AtomicBool = AtomicBool::new(false);

fn on_ring(_port: u32) {
    RUNG.store(true, Ordering::SeqCst);
}

/// Whether a frontend rang since [`Frontends::serve`] last looked.
pub fn rung() -> bool {
    RUNG.load(Ordering::SeqCst)
}

/// One connected frontend.
#[derive(Debug)]
struct Frontend {
    id: u32,
    name: Name,
    mapping: RingMapping,
    port: u32,
    backend: ConsoleBackend,
    /// Typed bytes waiting for room in its input ring.
    input: VecDeque<u8>,
}

impl Frontend {
    fn rings(&self) -> &'static ConsoleRings {
        // SAFETY: the ring page is mapped writable at the view while the
        // mapping is current (checked before each use); ConsoleRings fits
        // a page and is all atomics, so the frontend changing it meanwhile
        // is well-defined; a revoked grant reads as the spare frame.
        unsafe { &*(self.mapping.view() as *const ConsoleRings) }
    }

    /// Whether its domain ended (its port is no longer connected).
    fn gone(&self) -> bool {
        events::status(self.port).is_ok_and(|s| s.state != PortState::Interdomain)
    }
}

/// Every connected frontend, and input held for domains not yet
/// connected.
#[derive(Debug, Default)]
pub struct Frontends {
    list: Vec<Frontend>,
    waiting: Vec<(u32, VecDeque<u8>)>,
}

/// Queues as much of `bytes` as `queue` has room for.
fn queue(queue: &mut VecDeque<u8>, bytes: &[u8]) {
    let room = INPUT_QUEUE_LIMIT.saturating_sub(queue.len());
    queue.extend(&bytes[..bytes.len().min(room)]);
}

impl Frontends {
    /// Takes the connections waiting.
    pub fn accept(&mut self) {
        let mut pending = [Connection::default(); 4];
        loop {
            let count = match backend::accept(Kind::Console, &mut pending) {
                Ok(count) => count,
                Err(status) => panic!("backend_accept(Console): {}", status.name()),
            };
            for connection in &pending[..count] {
                self.connect(connection);
            }
            if count < pending.len() {
                return;
            }
        }
    }

    fn connect(&mut self, c: &Connection) {
        // A frontend connecting again (after a restart of this domain, or
        // of its own rings) replaces its old connection.
        let mut input = VecDeque::new();
        if let Some(at) = self.list.iter().position(|f| f.id == c.frontend) {
            input = core::mem::take(&mut self.list[at].input);
            self.drop_at(at);
        }
        if let Some(at) = self.waiting.iter().position(|(id, _)| *id == c.frontend) {
            input.extend(self.waiting.swap_remove(at).1);
        }
        let mapping = match ring_view::map(c.frontend, GrantRef::from_raw(c.reference.into())) {
            Ok(mapping) => mapping,
            Err(error) => {
                println!("console of domain {} refused: {error}", c.frontend);
                return;
            }
        };
        // Frontends whose window slot was just handed out again ended
        // before this server read their end.
        self.list.retain(|f| f.mapping.current());
        let port = match events::bind_interdomain(c.frontend, c.port) {
            Ok(port) => port,
            Err(status) => {
                ring_view::unmap(mapping);
                println!(
                    "console of domain {} refused: port: {}",
                    c.frontend,
                    status.name()
                );
                return;
            }
        };
        interrupts::on_port(port, on_ring);
        let mut name = [0u8; terminal::NAME_MAX];
        let len = console_server::domain_name(c.frontend, &mut name).unwrap_or(0);
        let mut frontend = Frontend {
            id: c.frontend,
            name: Name::new(&name[..len.min(name.len())]),
            mapping,
            port,
            backend: ConsoleBackend::adopt(
                // SAFETY: as for `Frontend::rings`: the page was just mapped.
                unsafe { &*(mapping.view() as *const ConsoleRings) },
            ),
            input: VecDeque::new(),
        };
        queue(&mut frontend.input, input.make_contiguous());
        self.list.push(frontend);
        RUNG.store(true, Ordering::SeqCst);
    }

    /// Closes the port of frontend `at` and unmaps its ring.
    fn drop_at(&mut self, at: usize) {
        let frontend = self.list.swap_remove(at);
        let _ = events::close(frontend.port);
        ring_view::unmap(frontend.mapping);
    }

    /// Domain `id` ended: its connection and its input go.
    pub fn ended(&mut self, id: u32) {
        if let Some(at) = self.list.iter().position(|f| f.id == id) {
            self.drop_at(at);
        }
        self.waiting.retain(|(waiting, _)| *waiting != id);
    }

    /// The bytes of a `Rest` record of domain `id` (`payload`) that this
    /// server has not taken from the ring itself; they count as taken
    /// from then on.
    pub fn rest<'a>(&mut self, id: u32, payload: &'a [u8]) -> &'a [u8] {
        let Some((rest, bytes)) = Rest::split(payload) else {
            return &[];
        };
        let Some(frontend) = self.list.iter_mut().find(|f| f.id == id) else {
            return bytes;
        };
        let taken = rest.already_taken(frontend.backend.taken(), bytes.len());
        if taken < bytes.len() {
            let end = rest.start.wrapping_add(bytes.len() as u32);
            frontend.backend.taken_to(end);
        }
        &bytes[taken..]
    }

    /// Queues a byte typed for domain `id` (held until it connects, if it
    /// has not yet).
    pub fn deliver(&mut self, id: u32, byte: u8) {
        if let Some(frontend) = self.list.iter_mut().find(|f| f.id == id) {
            queue(&mut frontend.input, &[byte]);
        } else if let Some((_, held)) = self.waiting.iter_mut().find(|(w, _)| *w == id) {
            queue(held, &[byte]);
        } else if self.waiting.len() < WAITING_MAX {
            self.waiting.push((id, VecDeque::from([byte])));
        }
        RUNG.store(true, Ordering::SeqCst);
    }

    /// Ends the input of every running domain (`Ctrl-A Ctrl-D`), connected
    /// or not yet (a rare command: every domain id is asked about).
    pub fn end_of_input(&mut self) {
        for id in 1..=MAX_ENTRIES {
            let connected = self.list.iter().any(|f| f.id == id);
            let waiting = self.waiting.iter().any(|(w, _)| *w == id);
            if connected || waiting || console_server::domain_name(id, &mut []).is_ok() {
                self.deliver(id, END_OF_INPUT);
            }
        }
    }

    /// Drains every output ring to `show` (domain, name, bytes) and fills
    /// every input ring, signalling each frontend that saw progress.
    pub fn serve(&mut self, show: &mut impl FnMut(u32, &[u8], &[u8])) {
        RUNG.store(false, Ordering::SeqCst);
        let mut at = 0;
        while at < self.list.len() {
            if !self.list[at].mapping.current() {
                // Its domain ended and the slot went to another ring.
                self.list.swap_remove(at);
                continue;
            }
            match self.serve_one(at, show) {
                Ok(()) => at += 1,
                Err(why) => {
                    let frontend = &self.list[at];
                    if !frontend.gone() {
                        println!(
                            "console of domain {} '{}' disconnected: ring corrupt ({}: {:?})",
                            frontend.id,
                            core::str::from_utf8(frontend.name.as_bytes()).unwrap_or("?"),
                            why.index,
                            why.fault
                        );
                    }
                    self.drop_at(at);
                }
            }
        }
    }

    /// Serves frontend `at` once.
    fn serve_one(
        &mut self,
        at: usize,
        show: &mut impl FnMut(u32, &[u8], &[u8]),
    ) -> Result<(), shared_abi::ring::Corrupt> {
        let frontend = &mut self.list[at];
        let rings = frontend.rings();
        let (id, name) = (frontend.id, frontend.name);
        let drained = frontend
            .backend
            .drain(rings, |bytes| show(id, name.as_bytes(), bytes))?;
        let (first, _) = frontend.input.as_slices();
        let filled = frontend.backend.fill(rings, first)?;
        frontend.input.drain(..filled);
        if drained || filled > 0 {
            let _ = events::send(frontend.port);
        }
        // Written while this server was showing, or waiting for room.
        if frontend.backend.output_waiting(rings) || (filled > 0 && !frontend.input.is_empty()) {
            RUNG.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}
