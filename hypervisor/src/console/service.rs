//! The console's shared state and the work it does between guest runs:
//! while a domain serves the console, queueing what the terminal shows
//! for that server; while none does, showing it here.

use alloc::collections::VecDeque;
use core::fmt::Write;

use shared_abi::Status;
use shared_abi::console_feed::{ConsoleCommand, PAYLOAD_MAX, Record, RecordKind, Rest, Settings};
use shared_abi::event::Virq;
use shared_abi::ring::ConsoleRings;
use spin::Mutex;
use terminal::{Host, Multiplexer, Name};

use super::feed::Feed;
use crate::arch::x86_64::serial;
use crate::domain::Domain;
use crate::domain::table::DomainTable;
use crate::log::LineBuffer;
use crate::mm::address::MachineAddr;
use crate::mm::direct_map::machine_ptr;

struct Console {
    mux: Multiplexer,
    keyboard: VecDeque<u8>,
    /// The domain serving the console (`Kind::Console`), while one does.
    server: Option<u32>,
    /// COM1 interrupted while the server reads it: it is to be woken.
    keys_waiting: bool,
    /// What is queued for it.
    feed: Feed,
}

/// Keys held for the console server at most.
const KEYBOARD_LIMIT: usize = 4096;

static CONSOLE: Mutex<Console> = Mutex::new(Console {
    mux: Multiplexer::new(),
    keyboard: VecDeque::new(),
    server: None,
    keys_waiting: false,
    feed: Feed::new(),
});

impl Console {
    /// Queues `payload` for the server, if there is one and it has room;
    /// returns whether it did.
    fn queued(&mut self, kind: RecordKind, domain: u32, name: &[u8], payload: &[u8]) -> bool {
        self.server.is_some() && self.feed.push(kind, domain, name, payload)
    }

    /// Output of domain `id` called `name`.
    fn output(&mut self, id: u32, name: &[u8], bytes: &[u8]) {
        if !self.queued(RecordKind::Output, id, name, bytes) {
            self.mux.output(id, name, bytes, &mut emit);
        }
    }

    /// What was left in domain `id`'s output ring, from ring index
    /// `start` on: the server shows what it has not taken itself.
    fn rest(&mut self, id: u32, name: &[u8], start: u32, bytes: &[u8]) {
        let mut payload = [0u8; PAYLOAD_MAX];
        let header = Rest { start }.to_bytes();
        payload[..Rest::BYTES].copy_from_slice(&header);
        payload[Rest::BYTES..Rest::BYTES + bytes.len()].copy_from_slice(bytes);
        let payload = &payload[..Rest::BYTES + bytes.len()];
        if !self.queued(RecordKind::Rest, id, name, payload) {
            self.mux.output(id, name, bytes, &mut emit);
        }
    }

    /// Domain `id` ended.
    fn end(&mut self, id: u32, name: &[u8]) {
        if !self.queued(RecordKind::End, id, name, &[]) {
            self.mux.end(id, name, &mut emit);
        }
    }

    /// A line of the hypervisor's own.
    fn message(&mut self, text: &[u8]) {
        if !self.queued(RecordKind::Message, 0, &[], text) {
            self.mux.message(text, &mut emit);
        }
    }

    /// The server went away: what it had not read is shown here, in
    /// order (keys typed meanwhile are read here too).
    fn take_back(&mut self) {
        self.server = None;
        let mut queued = self.feed.take();
        let mut rest: &[u8] = queued.make_contiguous();
        while let Ok((record, after)) = Record::decode(rest) {
            let keys = self.mux.show(record, &mut emit);
            self.keyboard.extend(keys);
            rest = after;
        }
        // What the server had not read of COM1 is the hypervisor's again.
        self.keys_waiting = false;
        self.receive_keys();
    }

    /// Reads every byte COM1 has received into the keyboard queue (up to
    /// [`KEYBOARD_LIMIT`] bytes waiting; more are dropped, as a keyboard
    /// drops keys).
    fn receive_keys(&mut self) {
        let mut buffer = [0u8; 64];
        loop {
            let count = serial::receive(&mut buffer);
            if count == 0 {
                break;
            }
            let room = KEYBOARD_LIMIT.saturating_sub(self.keyboard.len());
            self.keyboard.extend(&buffer[..count.min(room)]);
        }
    }
}

/// Colours domain prefixes (when the terminal supports it).
pub fn set_color(on: bool) {
    CONSOLE.lock().mux.set_color(on);
}

fn emit(bytes: &[u8]) {
    serial::write(&[bytes]);
}

/// Feeds early-console bytes of `domain` to the screen.
pub fn write_early(domain: &mut Domain, bytes: &[u8]) {
    let name = domain.name().as_bytes();
    CONSOLE.lock().output(domain.id(), name, bytes);
}

/// Passes on what `domain` left in its output ring, and shows its
/// unfinished line (it is ending: nothing it wrote is lost). When it is
/// the console's server, the hypervisor shows the console itself from then
/// on, starting with what the server had not read.
pub fn flush(domain: &mut Domain) {
    let mut console = CONSOLE.lock();
    let console = &mut *console;
    pass_on_rest(console, domain);
    let id = domain.id();
    console.end(id, domain.name().as_bytes());
    if console.server == Some(id) {
        console.take_back();
    }
}

/// Domain `id` serves the console from now on (it offered
/// `Kind::Console`): everything the console would show is queued for it.
pub fn serve(id: u32) {
    let mut console = CONSOLE.lock();
    let console = &mut *console;
    console.server = Some(id);
    console.feed.take();
    let settings = Settings {
        color: console.mux.color(),
        focus: console.mux.focus(),
    };
    console
        .feed
        .push(RecordKind::Settings, 0, &[], &settings.to_bytes());
    let feed = &mut console.feed;
    console
        .mux
        .hand_over(&mut emit, &mut |domain, name, bytes| {
            feed.push(RecordKind::Output, domain, name, bytes);
        });
}

/// Whether nothing waits in the feed (nothing lent to the server either).
pub fn feed_is_empty() -> bool {
    CONSOLE.lock().feed.is_empty()
}

/// Whether domain `id`'s early-console output must wait: the server is
/// behind on its feed (and `id` is not the server, which would wait on
/// itself).
pub fn must_wait(id: u32) -> bool {
    let console = CONSOLE.lock();
    console.server.is_some_and(|server| server != id) && console.feed.backed_up()
}

/// Whether domain `id` serves the console.
pub fn is_server(id: u32) -> bool {
    CONSOLE.lock().server == Some(id)
}

/// `console_read` for domain `id`: what its last read was lent is shown,
/// so it leaves the feed; the whole records now at the front that fit
/// `out` are copied there and lent. `DENIED` unless `id` serves the
/// console; `BUFFER_TOO_SMALL` when the next record does not fit `out`.
pub fn read_feed(id: u32, out: &mut [u8]) -> Result<usize, Status> {
    let mut console = CONSOLE.lock();
    if console.server != Some(id) {
        return Err(Status::Denied);
    }
    console.feed.read(out).map_err(|_| Status::BufferTooSmall)
}

/// Takes back what the server's last read lent (it could not be given).
pub fn unlend_feed() {
    CONSOLE.lock().feed.unlend();
}

/// `console_command` from the console's server: lists the domains or
/// prints their counters (as the hypervisor's lines, fed back to the
/// server).
pub fn command(table: &mut DomainTable, command: ConsoleCommand, focus: u32) {
    let mut console = CONSOLE.lock();
    let mut host = Machine { table };
    match command {
        ConsoleCommand::List => host.list(focus, &mut |line| console.message(line)),
        ConsoleCommand::Stats => host.stats(&mut |line| console.message(line)),
    }
}

/// Passes on what `domain` has written to its output ring and the server
/// has not taken: called before the hypervisor reports why it stops a
/// domain, so the domain's last lines come before that report.
pub fn drain(domain: &mut Domain) {
    pass_on_rest(&mut CONSOLE.lock(), domain);
}

/// Passes on what is left in `domain`'s output ring (the bytes between
/// the consumer index the server published and the domain's producer
/// index), as [`RecordKind::Rest`] records with the ring index of their
/// first byte: the server skips what it took meanwhile. The ring is marked
/// taken, so a second call passes on nothing. A domain whose indices say
/// more than the ring holds passes on nothing (its ring is corrupt).
fn pass_on_rest(console: &mut Console, domain: &mut Domain) {
    let Some(page) = domain.console().ring() else {
        return;
    };
    let (id, name) = (domain.id(), domain.name().as_bytes());
    let mut buffer = [0u8; Rest::CHUNK];
    rings(page)
        .output_ring()
        .take_rest(&mut buffer, |at, bytes| console.rest(id, name, at, bytes));
}

/// The split console rings in the domain's page `page`. The reference is
/// used only within one call, while the domain and its memory are alive.
fn rings<'a>(page: MachineAddr) -> &'a ConsoleRings {
    // SAFETY: `page` is a frame of the domain's memory (checked when the
    // domain connected), kept while the domain lives; ConsoleRings fits in
    // it and is all atomics, so the guest and the server changing it
    // meanwhile is well-defined.
    unsafe { &*machine_ptr(page).cast::<ConsoleRings>() }
}

/// Writes a line of the hypervisor's own (the logger's path), keeping
/// domains' unfinished lines intact. Falls back to the raw port when the
/// console is busy (a log line from inside the console).
pub fn message(text: &[u8]) {
    match CONSOLE.try_lock() {
        Some(mut console) => console.message(text),
        None => emit(text),
    }
}

/// Bytes the UART received before the console was up.
pub fn uart_input(bytes: &[u8]) {
    CONSOLE.lock().keyboard.extend(bytes.iter().copied());
}

/// COM1 interrupted: the keys are read here, or, while a domain serves the
/// console, left in the UART for it to read (it is woken at the next
/// scheduling point).
pub fn uart_interrupt() {
    let mut console = CONSOLE.lock();
    match console.server {
        Some(_) => console.keys_waiting = true,
        None => console.receive_keys(),
    }
}

/// Passes the keys COM1 received to the server (or, without one, to the
/// multiplexer here, for its escape keys: there is no input then) and
/// wakes the server when there is something for it.
pub fn service(table: &mut DomainTable) {
    let mut console = CONSOLE.lock();
    let console = &mut *console;
    if console.server.is_some() {
        let keys = core::mem::take(&mut console.keyboard);
        let (first, second) = keys.as_slices();
        for keys in [first, second] {
            if !keys.is_empty() && !console.queued(RecordKind::Keyboard, 0, &[], keys) {
                // The server reads nothing: it must not be handed more.
                console.keyboard.extend(keys);
            }
        }
    }
    // Keys typed while the driver domain has yet to offer the console (at
    // boot, or while it restarts) wait for it; without a driver domain the
    // escape keys are handled here.
    let server_coming =
        console.server.is_none() && table.iter().any(|d| d.is_alive() && d.is_driver());
    if !server_coming {
        let mut host = Machine { table };
        while let Some(key) = console.keyboard.pop_front() {
            console.mux.key(key, &mut host, &mut emit);
        }
    }
    let keys = core::mem::take(&mut console.keys_waiting);
    if let Some(server) = console.server
        && (console.feed.announce() || keys)
        && let Some(server) = table.domain(server)
    {
        server.raise_virq(Virq::Console);
    }
}

/// The domains, as the console's multiplexer sees them.
struct Machine<'a> {
    table: &'a mut DomainTable,
}

impl Host for Machine<'_> {
    /// Without a console server no domain has console input: the key goes.
    fn deliver(&mut self, _id: u32, _byte: u8) {}

    fn name(&mut self, id: u32) -> Option<Name> {
        self.table
            .domain(id)
            .map(|domain| Name::new(domain.name().as_bytes()))
    }

    fn list(&mut self, focus: u32, show: &mut dyn FnMut(&[u8])) {
        for domain in self.table.iter() {
            let mut text = LineBuffer::new();
            let marker = if domain.id() == focus { '*' } else { ' ' };
            let _ = writeln!(
                text,
                "hv: {marker} {} {:<16} {:?}",
                domain.id(),
                domain.name(),
                domain.state()
            );
            show(text.as_bytes());
        }
    }

    /// One line of counters per domain (`Ctrl-A s`), in a fixed form tools
    /// parse: `hv: stats: domain ID 'NAME' hypercalls=N system_calls=N
    /// exits=N reflected=N shadow_pages=N events=N cpu_ms=N`.
    fn stats(&mut self, show: &mut dyn FnMut(&[u8])) {
        for domain in self.table.iter() {
            let counters = domain.counters();
            let shadow_pages = domain.shadow().map_or(0, |s| s.tables_in_use());
            let mut text = LineBuffer::new();
            let _ = writeln!(
                text,
                "hv: stats: domain {} '{}' hypercalls={} system_calls={} exits={} reflected={} shadow_pages={} events={} cpu_ms={}",
                domain.id(),
                domain.name(),
                counters.hypercalls(),
                counters.system_calls(),
                counters.exits(),
                counters.reflected_faults(),
                shadow_pages,
                counters.events(),
                crate::time::tsc_to_ms(counters.cpu_ticks()),
            );
            show(text.as_bytes());
        }
    }

    /// No domain has console input to end without a console server.
    fn end_of_input(&mut self) {}
}
