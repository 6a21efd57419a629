//! The console server: this domain runs the operator's terminal. It
//! offers [`Kind::Console`], and from then on the hypervisor queues for
//! it, in order, every domain's early-console output, the hypervisor's own
//! lines and the keys typed at COM1 before the server reads them itself
//! ([`shared_abi::console_feed`]); and each domain connects its
//! split-console rings to it ([`super::console_frontends`]). The server
//! reads the feed and takes the connections when `Virq::Console` says
//! there is more, drains the rings when a frontend rings, runs the
//! `terminal` multiplexer (lines kept apart and prefixed, the focused
//! prompt, the escape keys) and writes COM1 itself, through the ports the
//! hypervisor gave it. It reads the keys from COM1 too: when the UART
//! interrupts, the hypervisor only wakes the server (`Virq::Console`).
//! Typed bytes go into the focused domain's input ring.

use core::sync::atomic::{AtomicBool, Ordering};

use shared_abi::Status;
use shared_abi::backend::Kind;
use shared_abi::console_feed::{ConsoleCommand, RECORD_MAX, Record, RecordKind};
use shared_abi::event::Virq;
use shared_abi::guest::console_server;
use shared_abi::guest::{backend, interrupts, watchdog};
use terminal::{Host, Multiplexer, Name};

use super::console_frontends::{self, Frontends};
use crate::port_io;

/// COM1's transmit (written) and receive (read) register.
const COM1_DATA: u16 = 0x3f8;
/// COM1's line status register.
const COM1_LINE_STATUS: u16 = 0x3fd;
/// Line status: the transmitter takes another byte.
const TRANSMIT_EMPTY: u8 = 1 << 5;
/// Line status: a received byte waits in the data register.
const DATA_READY: u8 = 1 << 0;
/// Most bytes read from COM1 in one turn (the rest wait for the next).
const RECEIVE_MAX: usize = 256;
/// Status reads between yields while the transmitter is full (the host
/// reads slowly): the server waits for it as long as it takes, since a
/// byte written to a full transmitter replaces the one waiting there, and
/// gives the CPU away meanwhile.
const TRANSMIT_POLLS: u32 = 1_000;

pub use super::liveness::{FEED_NS, WATCHDOG_NS};

/// Faults a test asks for, in the server's first run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Crash (an invalid opcode) once this many records are shown.
    pub crash_after: Option<u64>,
    /// Hang (spin, the watchdog unfed) once this many records are shown.
    pub hang_after: Option<u64>,
}

/// Set by `Virq::Console`: records are queued.
static FED: AtomicBool = AtomicBool::new(false);

fn on_feed(_port: u32) {
    FED.store(true, Ordering::SeqCst);
}

/// Whether the server has work: records in the feed, connections, keys,
/// or a frontend that rang.
pub fn pending() -> bool {
    FED.load(Ordering::SeqCst) || console_frontends::rung()
}

/// The running console server.
#[derive(Debug)]
pub struct ConsoleServer {
    mux: Multiplexer,
    frontends: Frontends,
    /// Records shown so far.
    records: u64,
    /// A test's faults.
    faults: Faults,
    /// Say so when the first key is read from COM1 (a test's check).
    tell_first_key: bool,
    /// When the watchdog was last fed (virtual ns).
    fed: u64,
}

impl ConsoleServer {
    /// Offers the console (virtual interrupts must be set up) and arms the
    /// watchdog, which [`ConsoleServer::service`] feeds. `faults` are a
    /// test's; `tell_first_key`: print a line when the first key is read
    /// from COM1.
    pub fn start(faults: Faults, tell_first_key: bool) -> Result<Self, Status> {
        interrupts::bind_virq(Virq::Console, on_feed)?;
        // A server that stops serving is stopped, and restarted, by the
        // hypervisor: the terminal is not left to a hung domain.
        watchdog::arm(WATCHDOG_NS)?;
        backend::offer(Kind::Console)?;
        FED.store(true, Ordering::SeqCst);
        Ok(Self {
            mux: Multiplexer::new(),
            frontends: Frontends::default(),
            records: 0,
            faults,
            tell_first_key,
            fed: interrupts::now_ns(),
        })
    }

    /// Feeds the watchdog if [`FEED_NS`] have passed since it last did.
    fn feed_watchdog(&mut self) {
        let now = interrupts::now_ns();
        if now.saturating_sub(self.fed) >= FEED_NS {
            let _ = watchdog::arm(WATCHDOG_NS);
            self.fed = now;
        }
    }

    /// Feeds the watchdog; shows everything the feed holds, takes new
    /// connections and reads the keys COM1 received; then drains and fills
    /// the frontends' rings.
    pub fn service(&mut self) {
        self.feed_watchdog();
        if FED.swap(false, Ordering::SeqCst) {
            // The feed first: a restarted domain's new connection comes
            // after the end of its previous run, which the feed holds.
            self.show_feed();
            self.frontends.accept();
            self.receive();
        }
        if console_frontends::rung() {
            let mux = &mut self.mux;
            self.frontends.serve(&mut |domain, name, bytes| {
                mux.output(domain, name, bytes, &mut transmit);
            });
        }
    }

    /// Reads the keys waiting in COM1 (the hypervisor wakes the server with
    /// `Virq::Console` when the UART interrupts) and hands them to the
    /// terminal.
    fn receive(&mut self) {
        for _ in 0..RECEIVE_MAX {
            match port_io::read(COM1_LINE_STATUS) {
                Ok(status) if status & DATA_READY != 0 => {}
                _ => return,
            }
            let Ok(key) = port_io::read(COM1_DATA) else {
                return;
            };
            if core::mem::take(&mut self.tell_first_key) {
                crate::println!("first key read from COM1");
            }
            self.key(key);
        }
        // More than a turn's worth: the rest next turn.
        FED.store(true, Ordering::SeqCst);
    }

    /// Shows every record the feed holds.
    fn show_feed(&mut self) {
        // A record or a few at a time: each read tells the hypervisor that
        // the last one's are shown, and what the server was lent when it
        // fails is shown again by the hypervisor, not lost.
        let mut buffer = [0u8; RECORD_MAX];
        loop {
            let bytes = match console_server::read(&mut buffer) {
                Ok(0) => return,
                Ok(bytes) => bytes,
                Err(status) => panic!("console_read: {}", status.name()),
            };
            let mut rest = &buffer[..bytes];
            while !rest.is_empty() {
                let (record, after) = match Record::decode(rest) {
                    Ok(decoded) => decoded,
                    Err(error) => panic!("console_read gave a bad record: {error:?}"),
                };
                self.show(record);
                self.records += 1;
                // Showing a long feed is serving, not hanging.
                self.feed_watchdog();
                if self.faults.crash_after == Some(self.records) {
                    // SAFETY: deliberately raises #UD with no handler for
                    // it: the hypervisor stops this domain.
                    unsafe { core::arch::asm!("ud2") };
                }
                if self.faults.hang_after == Some(self.records) {
                    crate::println!("hanging with records to show");
                    loop {
                        core::hint::spin_loop();
                    }
                }
                rest = after;
            }
        }
    }

    /// Shows `record`, reading the keys of a keyboard record; a ring's
    /// rest without what the server took from the ring itself; at a
    /// domain's end, forgets its rings.
    fn show(&mut self, record: Record) {
        match record.kind {
            RecordKind::Rest => {
                let bytes = self.frontends.rest(record.domain, record.payload);
                self.mux
                    .output(record.domain, record.name, bytes, &mut transmit);
                return;
            }
            RecordKind::End => self.frontends.ended(record.domain),
            _ => {}
        }
        let keys = self.mux.show(record, &mut transmit);
        for &key in keys {
            self.key(key);
        }
    }

    /// Hands a key to the terminal.
    fn key(&mut self, key: u8) {
        let mut host = Machine {
            frontends: &mut self.frontends,
        };
        self.mux.key(key, &mut host, &mut transmit);
    }
}

/// Writes `bytes` to COM1, each once the transmitter has room.
fn transmit(bytes: &[u8]) {
    for &byte in bytes {
        let mut polls = 0;
        // A refused port (this is not the driver domain) ends the wait.
        while let Ok(status) = port_io::read(COM1_LINE_STATUS)
            && status & TRANSMIT_EMPTY == 0
        {
            polls += 1;
            if polls % TRANSMIT_POLLS == 0 {
                // Waiting for the host is not hanging.
                let _ = watchdog::arm(WATCHDOG_NS);
                shared_abi::guest::yield_now();
            }
        }
        let _ = port_io::write(COM1_DATA, byte);
    }
}

/// What the multiplexer asks of the machine: input goes to the
/// frontends' rings, the rest is asked of the hypervisor.
struct Machine<'a> {
    frontends: &'a mut Frontends,
}

impl Host for Machine<'_> {
    fn deliver(&mut self, domain: u32, byte: u8) {
        // A full queue drops the key, as a keyboard does.
        self.frontends.deliver(domain, byte);
    }

    fn name(&mut self, domain: u32) -> Option<Name> {
        let mut name = [0u8; terminal::NAME_MAX];
        let len = console_server::domain_name(domain, &mut name).ok()?;
        Some(Name::new(&name[..len.min(name.len())]))
    }

    fn list(&mut self, focus: u32, _show: &mut dyn FnMut(&[u8])) {
        // The hypervisor's lines come back through the feed.
        let _ = console_server::command(ConsoleCommand::List, focus);
    }

    fn stats(&mut self, _show: &mut dyn FnMut(&[u8])) {
        let _ = console_server::command(ConsoleCommand::Stats, 0);
    }

    fn end_of_input(&mut self) {
        self.frontends.end_of_input();
    }
}
