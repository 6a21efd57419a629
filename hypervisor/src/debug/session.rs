//! The debugging session: `gdbstub`'s state machine, fed the bytes COM2
//! received, and what the hypervisor does at each of its transitions.
//!
//! | state machine | the debugged domain |
//! |---------------|---------------------|
//! | idle (gdb is issuing commands) | held |
//! | running (gdb waits for a stop) | runs; a stop holds it and is reported |
//! | Ctrl-C | held, reported as `SIGINT` |
//! | disconnected (`detach`, `kill`) | breakpoints removed, released (or ended) |
//! | a protocol error, a new debugger's greeting | breakpoints removed, held |
//!
//! A session starts with no debugger attached; the first byte a debugger
//! sends holds the domain (it already is when the domain has not run yet)
//! and attaches it. Detaching ends the debugger's part: its breakpoints are
//! removed, the domain runs on, and a fresh state machine waits for the
//! next debugger. Anything gdbstub refuses (a malformed packet, a bad
//! checksum, a stray byte) does the same but leaves the domain held for
//! the next session. gdb going away without a word cannot be seen on a
//! serial line; the next gdb to connect is recognised by its greeting
//! (`$qSupported`) and gets a fresh session, the domain held and the old
//! breakpoints removed.

use core::convert::Infallible;

use gdbstub::conn::Connection;
use gdbstub::stub::state_machine::GdbStubStateMachine;
use gdbstub::stub::{DisconnectReason, GdbStubBuilder, GdbStubError};

use super::stop::Stop;
use super::target::DomainTarget;
use crate::arch::x86_64::serial::COM2;
use crate::domain::table::DomainTable;

/// The state machine over the debugged domain and COM2.
type Machine = GdbStubStateMachine<'static, DomainTarget, DebugLine>;
type Step = Result<Machine, GdbStubError<Infallible, Infallible>>;

/// How long (TSC ticks) the hypervisor keeps waiting for gdb's next byte
/// after a byte or a stop, while the domain is held: gdb's packets come in
/// bursts (a stop is followed by reads of registers and memory), which are
/// served together rather than one per scheduling pass.
fn quiet_ticks() -> u64 {
    crate::time::ns_to_tsc(5_000_000)
}

/// COM2, as gdbstub writes to it.
pub struct DebugLine;

impl Connection for DebugLine {
    type Error = Infallible;

    fn write(&mut self, byte: u8) -> Result<(), Self::Error> {
        COM2.write(&[&[byte]]);
        Ok(())
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
        COM2.write(&[bytes]);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// One debugged domain and the protocol state with its debugger.
pub struct Session {
    /// Always `Some` between calls (taken while a transition runs).
    machine: Option<Machine>,
    target: DomainTarget,
    /// A debugger has spoken since the session (re)started.
    attached: bool,
    /// A stop not reported yet.
    pending: Option<Stop>,
    /// The debugger asked for the domain to be killed.
    kill: bool,
    /// How many bytes of [`GREETING`] the input ended with.
    greeting: usize,
    /// Protocol errors since a debugger last greeted (only the first is
    /// logged, so that a peer sending garbage cannot flood the console).
    errors: u32,
}

/// What a gdb sends first on connecting. Seen while another debugger is
/// attached, it means that one went away without detaching: the new one
/// gets a fresh session (the domain held, the old breakpoints removed).
const GREETING: &[u8] = b"$qSupported";

impl Session {
    /// A session for domain `id`, waiting for a debugger.
    pub fn new(id: u32) -> Option<Self> {
        let mut target = DomainTarget::new(id);
        let machine = fresh_machine(&mut target)?;
        Some(Self {
            machine: Some(machine),
            target,
            attached: false,
            pending: None,
            kill: false,
            greeting: 0,
            errors: 0,
        })
    }

    /// Whether a debugger is attached.
    pub fn is_attached(&self) -> bool {
        self.attached
    }

    /// The debugger's view of the domain.
    pub fn target(&self) -> &DomainTarget {
        &self.target
    }

    /// The debugger's view of the domain, to change.
    pub fn target_mut(&mut self) -> &mut DomainTarget {
        &mut self.target
    }

    /// Records a stop of the (now held) domain, reported at the next
    /// [`Session::serve`] (or at once by [`Session::report`]).
    pub fn stopped(&mut self, stop: Stop) {
        self.pending = Some(stop);
    }

    /// Whether the debugger asked for the domain to be ended (asking
    /// consumes the answer).
    pub fn take_kill(&mut self) -> bool {
        core::mem::take(&mut self.kill)
    }

    /// Serves the debugger with `table` lent to the target: `early` (bytes
    /// received before), every byte COM2 has, and a pending stop; while
    /// the domain is held and gdb is talking, waits for the rest of its
    /// burst.
    pub fn serve(&mut self, table: &mut DomainTable, early: &[u8]) {
        self.target.lend(table);
        let mut active_at = None;
        for &byte in early {
            self.take(byte);
        }
        loop {
            let mut buffer = [0u8; 64];
            let count = COM2.receive(&mut buffer);
            for &byte in &buffer[..count] {
                self.take(byte);
            }
            if self.report() || count > 0 {
                active_at = Some(crate::time::now());
                continue;
            }
            let listening = self.attached && matches!(self.machine, Some(Machine::Idle(_)));
            match active_at {
                Some(at) if listening && crate::time::now() - at < quiet_ticks() => {}
                _ => break,
            }
        }
        self.target.lend(table);
    }

    /// Reports a pending stop if gdb waits for one; whether it did.
    pub fn report(&mut self) -> bool {
        let waiting = matches!(self.machine, Some(Machine::Running(_)));
        if !waiting || self.pending.is_none() {
            return false;
        }
        if let Some(machine) = self.machine.take() {
            self.settle(Ok(machine));
        }
        true
    }

    /// Feeds one byte to the state machine.
    fn take(&mut self, byte: u8) {
        if !self.attached {
            self.attached = true;
            self.target.hold();
        }
        if self.greeted(byte) {
            // A debugger starts: whatever the last one left is undone, and
            // the greeting replayed into a fresh state machine.
            if self.errors > 1 {
                log::warn!("gdb: {} more malformed packets refused", self.errors - 1);
            }
            self.errors = 0;
            log::info!("gdb: debugger attached to domain {}", self.target.id());
            self.restart(None);
            self.attached = true;
            for &byte in GREETING {
                self.feed(byte);
            }
            return;
        }
        self.feed(byte);
    }

    /// Whether `byte` completes a [`GREETING`].
    fn greeted(&mut self, byte: u8) -> bool {
        self.greeting = match byte {
            b'$' => 1,
            _ if GREETING.get(self.greeting) == Some(&byte) => self.greeting + 1,
            _ => 0,
        };
        if self.greeting == GREETING.len() {
            self.greeting = 0;
            return true;
        }
        false
    }

    /// Passes one byte to the state machine and carries out the
    /// transition.
    fn feed(&mut self, byte: u8) {
        let Some(machine) = self.machine.take() else {
            return;
        };
        let next = match machine {
            Machine::Idle(idle) => idle.incoming_data(&mut self.target, byte),
            Machine::Running(running) => running.incoming_data(&mut self.target, byte),
            // Never left in place by `settle`.
            other => Ok(other),
        };
        self.settle(next);
    }

    /// Carries a transition through: Ctrl-C holds the domain and reports
    /// it, a disconnection ends the debugger's part, a pending stop is
    /// reported once gdb waits for one.
    fn settle(&mut self, mut next: Step) {
        loop {
            let machine = match next {
                Ok(machine) => machine,
                Err(error) => {
                    if self.errors == 0 {
                        log::warn!(
                            "gdb: {error}; domain {} is held for a new session",
                            self.target.id()
                        );
                    }
                    self.errors = self.errors.saturating_add(1);
                    return self.restart(None);
                }
            };
            next = match machine {
                Machine::CtrlCInterrupt(interrupt) => {
                    self.target.hold();
                    let stop = self.pending.take().unwrap_or(Stop::Interrupted);
                    self.target.note_stop(stop);
                    interrupt.interrupt_handled(&mut self.target, Some(stop.reason()))
                }
                Machine::Disconnected(gone) => return self.restart(Some(gone.get_reason())),
                Machine::Running(running) => match self.pending.take() {
                    Some(stop) => {
                        self.target.note_stop(stop);
                        running.report_stop(&mut self.target, stop.reason())
                    }
                    None => {
                        self.machine = Some(Machine::Running(running));
                        return;
                    }
                },
                idle => {
                    self.machine = Some(idle);
                    return;
                }
            };
        }
    }

    /// Ends the debugger's part and starts a fresh state machine for the
    /// next one: breakpoints removed, single-stepping off, and the domain
    /// released after a `detach`, to be ended after a `kill`, and held
    /// after a protocol error or when a new debugger greets (`why` is
    /// `None`).
    fn restart(&mut self, why: Option<DisconnectReason>) {
        self.target.detach();
        self.greeting = 0;
        self.pending = None;
        self.attached = false;
        match why {
            None => self.target.hold(),
            Some(DisconnectReason::Kill) => {
                log::info!("gdb: the debugger killed domain {}", self.target.id());
                self.kill = true;
            }
            Some(DisconnectReason::Disconnect) => {
                log::info!("gdb: debugger detached from domain {}", self.target.id());
            }
            _ => {}
        }
        self.machine = fresh_machine(&mut self.target);
    }
}

/// A state machine at the start of a session (no packet seen).
fn fresh_machine(target: &mut DomainTarget) -> Option<Machine> {
    GdbStubBuilder::new(DebugLine)
        .build()
        .ok()?
        .run_state_machine(target)
        .ok()
}
