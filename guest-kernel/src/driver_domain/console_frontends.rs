//! The console server's frontends: each domain's split-console rings,
//! granted to this domain and connected through the directory
//! (`frontend_connect(Console)`, taken here with
//! `backend_accept(Console)`).
//!
//! The server never maps a ring page: it copies the indices and the bytes
//! out of it and into it with `grant_copy_from` and `grant_copy_to`, each
//! checked by the hypervisor against the frontend's grant, so a frontend
//! that ends (its grant revoked) only makes the next copy fail. It drains
//! each output ring to the terminal, publishing its consumer index once
//! the bytes are shown, and fills each input ring from what was typed for
//! that domain. Every index the frontend writes is hostile:
//! [`ConsoleBackend`] keeps the server's own indices and checks the
//! frontend's; a ring whose index is impossible is disconnected with one
//! line (`console of domain N 'name' disconnected: ...`) and its port
//! closed, which the frontend sees as its port hung up (it goes back to
//! the early console). A frontend whose domain ended is forgotten at its
//! `End` record; what it left in its ring comes before that, as a `Rest`
//! record, whose bytes this server may have taken from the ring itself
//! meanwhile ([`Frontends::rest`]).

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use shared_abi::Status;
use shared_abi::backend::{Connection, Kind};
use shared_abi::bundle::MAX_ENTRIES;
use shared_abi::console_feed::Rest;
use shared_abi::grant::GrantRef;
use shared_abi::guest::{backend, console_server, events, grant};
use shared_abi::ring::{
    ConsoleBackend, Corrupt, IN_PROD_OFFSET, INDICES_OFFSET, INPUT_SIZE, Indices, OUT_CONS_OFFSET,
    OUTPUT_OFFSET, OUTPUT_SIZE, stretch,
};
use terminal::Name;
use terminal::escape::END_OF_INPUT;

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
    /// Its grant of the ring page.
    reference: GrantRef,
    port: u32,
    backend: ConsoleBackend,
    /// Typed bytes waiting for room in its input ring.
    input: VecDeque<u8>,
}

/// Why a frontend is served no more.
enum Lost {
    /// A copy failed: its domain ended or it ended the grant.
    Gone,
    /// An index it wrote is impossible.
    Corrupt(Corrupt),
}

impl From<Status> for Lost {
    fn from(_: Status) -> Self {
        Self::Gone
    }
}

impl From<Corrupt> for Lost {
    fn from(corrupt: Corrupt) -> Self {
        Self::Corrupt(corrupt)
    }
}

/// Copies `out.len()` bytes at `offset` of the ring page domain `id` lent
/// as `reference`.
fn copy_from(id: u32, reference: GrantRef, offset: usize, out: &mut [u8]) -> Result<(), Status> {
    grant::copy_from(id, reference, offset as u64, out)
}

impl Frontend {
    /// Copies `out.len()` bytes at `offset` of its ring page.
    fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), Status> {
        copy_from(self.id, self.reference, offset, out)
    }

    /// Copies `bytes` to `offset` of its ring page.
    fn write(&self, offset: usize, bytes: &[u8]) -> Result<(), Status> {
        grant::copy_to(self.id, self.reference, offset as u64, bytes)
    }

    /// The page's four indices.
    fn indices(&self) -> Result<Indices, Status> {
        let mut bytes = [0u8; Indices::BYTES];
        self.read(INDICES_OFFSET, &mut bytes)?;
        Ok(Indices::from_bytes(&bytes))
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
        if let Err(status) = backend::accept_all(Kind::Console, |c| self.connect(c)) {
            panic!("backend_accept(Console): {}", status.name());
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
        let reference = GrantRef::from_raw(c.reference.into());
        // The indices the last server left, read first: a grant that does
        // not work refuses the connection before anything is bound.
        let mut indices = [0u8; Indices::BYTES];
        if let Err(status) = copy_from(c.frontend, reference, INDICES_OFFSET, &mut indices) {
            println!(
                "console of domain {} refused: ring grant: {}",
                c.frontend,
                status.name()
            );
            return;
        }
        let port = match events::bind_interdomain(c.frontend, c.port) {
            Ok(port) => port,
            Err(status) => {
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
            reference,
            port,
            backend: ConsoleBackend::adopt(Indices::from_bytes(&indices)),
            input: VecDeque::new(),
        };
        queue(&mut frontend.input, input.make_contiguous());
        self.list.push(frontend);
        RUNG.store(true, Ordering::SeqCst);
    }

    /// Closes the port of frontend `at` and forgets it.
    fn drop_at(&mut self, at: usize) {
        let frontend = self.list.swap_remove(at);
        let _ = events::close(frontend.port);
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
            match self.serve_one(at, show) {
                Ok(()) => at += 1,
                Err(Lost::Gone) => self.drop_at(at),
                Err(Lost::Corrupt(why)) => {
                    let frontend = &self.list[at];
                    println!(
                        "console of domain {} '{}' disconnected: ring corrupt ({}: {:?})",
                        frontend.id,
                        core::str::from_utf8(frontend.name.as_bytes()).unwrap_or("?"),
                        why.index,
                        why.fault
                    );
                    self.drop_at(at);
                }
            }
        }
    }

    /// Serves frontend `at` once: its output shown, its input given.
    fn serve_one(
        &mut self,
        at: usize,
        show: &mut impl FnMut(u32, &[u8], &[u8]),
    ) -> Result<(), Lost> {
        let frontend = &mut self.list[at];
        let indices = frontend.indices()?;
        let waiting = frontend.backend.output(indices.out_prod)?;
        let room = frontend.backend.input_room(indices.in_cons)?;
        if waiting > 0 {
            let mut bytes = [0u8; OUTPUT_SIZE];
            let (offset, first) = stretch(
                OUTPUT_OFFSET,
                OUTPUT_SIZE,
                frontend.backend.taken(),
                waiting,
            );
            frontend.read(offset, &mut bytes[..first])?;
            if first < waiting {
                frontend.read(OUTPUT_OFFSET, &mut bytes[first..waiting])?;
            }
            show(frontend.id, frontend.name.as_bytes(), &bytes[..waiting]);
            let cons = frontend.backend.take(waiting);
            frontend.write(OUT_CONS_OFFSET, &cons.to_le_bytes())?;
        }
        let given = room.min(frontend.input.len());
        if given > 0 {
            let (offset, first) = stretch(0, INPUT_SIZE, frontend.backend.given(), given);
            frontend.input.make_contiguous();
            let bytes = frontend.input.as_slices().0;
            frontend.write(offset, &bytes[..first])?;
            if first < given {
                frontend.write(0, &bytes[first..given])?;
            }
            let prod = frontend.backend.give(given);
            frontend.write(IN_PROD_OFFSET, &prod.to_le_bytes())?;
            frontend.input.drain(..given);
        }
        if waiting > 0 || given > 0 {
            let _ = events::send(frontend.port);
            // Look again: more may have come meanwhile (the frontend does
            // not signal a ring it sees being drained).
            RUNG.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}
