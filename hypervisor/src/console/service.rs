//! The console's shared state and the work it does between guest runs:
//! routing keyboard input, draining output rings, filling input rings;
//! and, while a domain serves the console, queueing all of it for that
//! server instead of showing it.

use alloc::collections::VecDeque;
use core::fmt::Write;

use shared_abi::Status;
use shared_abi::console_feed::{ConsoleCommand, Record, RecordKind, Settings};
use shared_abi::event::Virq;
use spin::Mutex;
use terminal::escape::END_OF_INPUT;
use terminal::{Host, Multiplexer, Name};

use super::feed::Feed;
use crate::arch::x86_64::serial;
use crate::domain::Domain;
use crate::domain::table::DomainTable;
use crate::log::LineBuffer;
use crate::terminal::device::{Corrupt, RingDevice};

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

    /// Reads every byte COM1 has received into the keyboard queue.
    fn receive_keys(&mut self) {
        let mut buffer = [0u8; 64];
        loop {
            let count = serial::receive(&mut buffer);
            if count == 0 {
                break;
            }
            self.keyboard.extend(&buffer[..count]);
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

/// Shows what `domain` left in its output ring and its unfinished line
/// (it is ending: nothing it wrote is lost). When it is the console's
/// server, the hypervisor shows the console itself from then on, starting
/// with what the server had not read.
pub fn flush(domain: &mut Domain) {
    let mut console = CONSOLE.lock();
    let console = &mut *console;
    show_output(console, domain);
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

/// `console_command` from the console's server: lists the domains, prints
/// their counters (as the hypervisor's lines, fed back to the server) or
/// ends every domain's input.
pub fn command(table: &mut DomainTable, command: ConsoleCommand, focus: u32) {
    let mut console = CONSOLE.lock();
    let mut host = Machine { table };
    match command {
        ConsoleCommand::List => host.list(focus, &mut |line| console.message(line)),
        ConsoleCommand::Stats => host.stats(&mut |line| console.message(line)),
        ConsoleCommand::EndOfInput => host.end_of_input(),
    }
}

/// Shows what `domain` has written to its output ring so far: called
/// before the hypervisor reports why it stops a domain, so the domain's
/// last lines come before that report.
pub fn drain(domain: &mut Domain) {
    show_output(&mut CONSOLE.lock(), domain);
}

/// Drains `domain`'s output ring to the screen, if it has one.
fn show_output(console: &mut Console, domain: &mut Domain) {
    let Some(mut device) = domain.console_mut().device.take() else {
        return;
    };
    match drain_device(console, domain, &mut device) {
        Ok(_) => domain.console_mut().device = Some(device),
        Err(corrupt) => disconnect(console, domain, corrupt),
    }
}

/// Moves `domain`'s output from `device` (taken out of it meanwhile) to the
/// screen. Returns whether anything moved.
fn drain_device(
    console: &mut Console,
    domain: &Domain,
    device: &mut RingDevice,
) -> Result<bool, Corrupt> {
    let id = domain.id();
    let name = domain.name().as_bytes();
    device.drain(|bytes| console.output(id, name, bytes))
}

/// Reports `domain`'s corrupt ring; its console stays disconnected.
fn disconnect(console: &mut Console, domain: &mut Domain, corrupt: Corrupt) {
    let mut text = LineBuffer::new();
    let _ = writeln!(
        text,
        "hv: warning: domain {} '{}': console ring corrupt ({}: {:?}); console disconnected",
        domain.id(),
        domain.name(),
        corrupt.index,
        corrupt.fault
    );
    console.message(text.as_bytes());
    domain.console_mut().input.clear();
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

/// `console_attach(gpa)`: connects the split console rings in the domain's
/// page at `gpa`.
pub fn attach(domain: &mut Domain, gpa: u64) -> Result<(), Status> {
    let page = domain.shared_page(gpa)?;
    domain.console_mut().device = Some(RingDevice::attach(page));
    Ok(())
}

/// Routes keyboard input, drains every split console's output and fills
/// its input, raising the console VIRQ of each domain that saw progress.
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
    let mut host = Machine { table };
    while let Some(key) = console.keyboard.pop_front() {
        console.mux.key(key, &mut host, &mut emit);
    }
    for domain in table.live_mut() {
        let Some(mut device) = domain.console_mut().device.take() else {
            continue;
        };
        // A server behind on its feed slows the rings down: they fill, and
        // their domains wait for room, as for a slow terminal.
        let drained = match console.server.is_some() && console.feed.backed_up() {
            true => Ok(false),
            false => drain_device(console, domain, &mut device),
        };
        let filled = drained.and_then(|moved| {
            device
                .fill(&mut domain.console_mut().input)
                .map(|more| moved || more)
        });
        match filled {
            Ok(progress) => {
                domain.console_mut().device = Some(device);
                if progress {
                    domain.raise_virq(Virq::Console);
                }
            }
            Err(corrupt) => disconnect(console, domain, corrupt),
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
    fn deliver(&mut self, id: u32, byte: u8) {
        if let Some(domain) = self.table.domain(id) {
            domain.console_mut().queue_input(&[byte]);
        }
    }

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

    fn end_of_input(&mut self) {
        for domain in self.table.live_mut() {
            domain.console_mut().input.push_back(END_OF_INPUT);
        }
    }
}
