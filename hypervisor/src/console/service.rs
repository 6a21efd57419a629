//! The console's shared state and the work it does between guest runs:
//! routing keyboard input, draining output rings, filling input rings.

use alloc::collections::VecDeque;
use core::fmt::Write;

use shared_abi::Status;
use shared_abi::event::Virq;
use spin::Mutex;

use crate::arch::x86_64::serial;
use crate::domain::Domain;
use crate::domain::table::DomainTable;
use crate::log::LineBuffer;
use crate::terminal::device::{Corrupt, INPUT_QUEUE_LIMIT, RingDevice};
use crate::terminal::escape::{Action, END_OF_INPUT, Escape};
use crate::terminal::screen::Screen;

struct Console {
    screen: Screen,
    escape: Escape,
    focus: u32,
    color: bool,
    keyboard: VecDeque<u8>,
}

static CONSOLE: Mutex<Console> = Mutex::new(Console {
    screen: Screen::new(),
    escape: Escape::new(),
    focus: 1,
    color: false,
    keyboard: VecDeque::new(),
});

const COLORS: [u8; 6] = [b'2', b'3', b'4', b'5', b'6', b'1'];

/// Colours domain prefixes (when the terminal supports it).
pub fn set_color(on: bool) {
    CONSOLE.lock().color = on;
}

fn prefix(console: &Console, domain: &Domain) -> LineBuffer {
    line_prefix(console.color, domain.id(), domain.name())
}

/// `[name] `, coloured by domain id when `color`.
fn line_prefix(color: bool, id: u32, name: &str) -> LineBuffer {
    let mut prefix = LineBuffer::new();
    let _ = if color {
        let color = COLORS[(id as usize - 1) % COLORS.len()] as char;
        write!(prefix, "\x1b[3{color}m[{name}]\x1b[0m ")
    } else {
        write!(prefix, "[{name}] ")
    };
    prefix
}

fn emit(bytes: &[u8]) {
    serial::write(&[bytes]);
}

/// Feeds early-console bytes of `domain` to the screen.
pub fn write_early(domain: &mut Domain, bytes: &[u8]) {
    let mut console = CONSOLE.lock();
    let console = &mut *console;
    let prefix = prefix(console, domain);
    let focused = console.focus == domain.id();
    console.screen.feed(
        domain.id(),
        prefix.as_bytes(),
        &mut domain.console_mut().line,
        bytes,
        focused,
        &mut emit,
    );
}

/// Shows what `domain` left in its output ring and its unfinished line
/// (it is ending: nothing it wrote is lost).
pub fn flush(domain: &mut Domain) {
    let mut console = CONSOLE.lock();
    let console = &mut *console;
    show_output(console, domain);
    let prefix = prefix(console, domain);
    console.screen.flush(
        domain.id(),
        prefix.as_bytes(),
        &mut domain.console_mut().line,
        &mut emit,
    );
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
    domain: &mut Domain,
    device: &mut RingDevice,
) -> Result<bool, Corrupt> {
    let id = domain.id();
    let focused = console.focus == id;
    // The prefix is formatted only if there is output to show.
    let mut prefix_text = None;
    let color = console.color;
    let (name, domain_console) = domain.name_and_console_mut();
    let screen = &mut console.screen;
    device.drain(|bytes| {
        let prefix = prefix_text.get_or_insert_with(|| line_prefix(color, id, name));
        let line = &mut domain_console.line;
        screen.feed(id, prefix.as_bytes(), line, bytes, focused, &mut emit)
    })
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
    console.screen.message(text.as_bytes(), &mut emit);
    domain.console_mut().input.clear();
}

/// Writes a line of the hypervisor's own (the logger's path), keeping
/// domains' unfinished lines intact. Falls back to the raw port when the
/// console is busy (a log line from inside the console).
pub fn message(text: &[u8]) {
    match CONSOLE.try_lock() {
        Some(mut console) => console.screen.message(text, &mut emit),
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
    while let Some(key) = console.keyboard.pop_front() {
        match console.escape.feed(key) {
            Action::Deliver(byte) => {
                if let Some(domain) = table.domain(console.focus)
                    && domain.console().input.len() < INPUT_QUEUE_LIMIT
                {
                    domain.console_mut().input.push_back(byte);
                }
            }
            Action::Focus(id) => focus(console, table, id),
            Action::List => list(console, table),
            Action::Stats => stats(console, table),
            Action::EndOfInput => {
                for domain in table.live_mut() {
                    domain.console_mut().input.push_back(END_OF_INPUT);
                }
            }
            Action::Nothing => {}
        }
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

fn focus(console: &mut Console, table: &mut DomainTable, id: u32) {
    let mut text = LineBuffer::new();
    match table.domain(id) {
        Some(domain) => {
            console.focus = id;
            let _ = writeln!(
                text,
                "hv: console input goes to domain {id} '{}'",
                domain.name()
            );
            console.screen.message(text.as_bytes(), &mut emit);
            let prefix = prefix(console, domain);
            console.screen.show_partial(
                id,
                prefix.as_bytes(),
                &mut domain.console_mut().line,
                &mut emit,
            );
        }
        None => {
            let _ = writeln!(text, "hv: no running domain {id}");
            console.screen.message(text.as_bytes(), &mut emit);
        }
    }
}

/// One line of counters per domain (`Ctrl-A s`), in a fixed form tools
/// parse: `hv: stats: domain ID 'NAME' hypercalls=N system_calls=N exits=N
/// reflected=N shadow_pages=N events=N block_requests=N cpu_ms=N`.
fn stats(console: &mut Console, table: &DomainTable) {
    for domain in table.iter() {
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
        console.screen.message(text.as_bytes(), &mut emit);
    }
}

fn list(console: &mut Console, table: &DomainTable) {
    for domain in table.iter() {
        let mut text = LineBuffer::new();
        let marker = if domain.id() == console.focus {
            '*'
        } else {
            ' '
        };
        let _ = writeln!(
            text,
            "hv: {marker} {} {:<16} {:?}",
            domain.id(),
            domain.name(),
            domain.state()
        );
        console.screen.message(text.as_bytes(), &mut emit);
    }
}
