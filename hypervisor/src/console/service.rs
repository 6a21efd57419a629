//! The console's shared state and the work it does between guest runs:
//! routing keyboard input, draining output rings, filling input rings.

use alloc::collections::VecDeque;
use core::fmt::Write;

use shared_abi::Status;
use shared_abi::event::Virq;
use spin::Mutex;
use terminal::escape::END_OF_INPUT;
use terminal::{Host, Multiplexer, Name};

use crate::arch::x86_64::serial;
use crate::domain::Domain;
use crate::domain::table::DomainTable;
use crate::log::LineBuffer;
use crate::terminal::device::{Corrupt, INPUT_QUEUE_LIMIT, RingDevice};

struct Console {
    mux: Multiplexer,
    keyboard: VecDeque<u8>,
}

static CONSOLE: Mutex<Console> = Mutex::new(Console {
    mux: Multiplexer::new(),
    keyboard: VecDeque::new(),
});

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
    CONSOLE
        .lock()
        .mux
        .output(domain.id(), name, bytes, &mut emit);
}

/// Shows what `domain` left in its output ring and its unfinished line
/// (it is ending: nothing it wrote is lost).
pub fn flush(domain: &mut Domain) {
    let mut console = CONSOLE.lock();
    let console = &mut *console;
    show_output(console, domain);
    let name = domain.name().as_bytes();
    console.mux.end(domain.id(), name, &mut emit);
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
    let mux = &mut console.mux;
    device.drain(|bytes| mux.output(id, name, bytes, &mut emit))
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
    console.mux.message(text.as_bytes(), &mut emit);
    domain.console_mut().input.clear();
}

/// Writes a line of the hypervisor's own (the logger's path), keeping
/// domains' unfinished lines intact. Falls back to the raw port when the
/// console is busy (a log line from inside the console).
pub fn message(text: &[u8]) {
    match CONSOLE.try_lock() {
        Some(mut console) => console.mux.message(text, &mut emit),
        None => emit(text),
    }
}

/// Bytes read from the UART by its interrupt handler.
pub fn uart_input(bytes: &[u8]) {
    CONSOLE.lock().keyboard.extend(bytes.iter().copied());
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
    let mut host = Machine { table };
    while let Some(key) = console.keyboard.pop_front() {
        console.mux.key(key, &mut host, &mut emit);
    }
    for domain in table.live_mut() {
        let Some(mut device) = domain.console_mut().device.take() else {
            continue;
        };
        let drained = drain_device(console, domain, &mut device);
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
}

/// The domains, as the console's multiplexer sees them.
struct Machine<'a> {
    table: &'a mut DomainTable,
}

impl Host for Machine<'_> {
    fn deliver(&mut self, id: u32, byte: u8) {
        if let Some(domain) = self.table.domain(id)
            && domain.console().input.len() < INPUT_QUEUE_LIMIT
        {
            domain.console_mut().input.push_back(byte);
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
