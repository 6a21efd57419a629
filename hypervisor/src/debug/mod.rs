//! The debugger: the GDB remote protocol for one domain, served on COM2.
//!
//! `gdb=NAME` (or `gdb=ID`) on the command line picks the domain; it is
//! held before its first instruction until a debugger attaches and lets
//! it run. QEMU turns COM2 into a TCP port (`cargo xtask gdb` sets that
//! up), and `gdbstub`'s state machine ([`session`]) speaks the protocol
//! over it: gdb reads and writes the domain's registers (its vCPU as it
//! will resume) and memory (through the domain's own page tables, never
//! outside its memory: `mm::guest_view`), plants software breakpoints
//! ([`breakpoints`]), single-steps (RFLAGS.TF), continues, and interrupts
//! with Ctrl-C.
//!
//! The dispatcher calls in at three kinds of place:
//!
//! - [`service`], where every domain's registers are parked (each
//!   rescheduling, and every [`POLL_NS`] while the hypervisor idles with
//!   the domain held or a debugger attached: [`listening`]): COM2's bytes
//!   go to the state machine and a stop is reported.
//! - [`takes_trap`], for a `#BP` or `#DB` of the debugged domain: its own
//!   breakpoint or single step holds it instead of reaching the guest's
//!   handler; and [`takes_fault`], for an exception that would end it
//!   (the containment path): while a debugger is attached the domain is
//!   held and gdb told first. Resumed with the signal, the fault goes its
//!   way (the domain is stopped); without it, the instruction runs again.
//! - [`ended`], when the debugged domain ends: gdb is told it exited.
//!
//! A held domain is simply not runnable ([`crate::domain::Domain::hold`]):
//! the other domains keep running while it is stopped, and its events and
//! timers wait for it.

mod breakpoints;
mod stop;

#[cfg(target_os = "none")]
mod session;
#[cfg(target_os = "none")]
mod target;

#[cfg(target_os = "none")]
pub use machine::*;

/// The longest the idling hypervisor goes without looking at COM2 while a
/// debugger may speak.
pub const POLL_NS: u64 = 1_000_000;

#[cfg(target_os = "none")]
mod machine {
    use core::sync::atomic::{AtomicU32, Ordering};

    use spin::Mutex;

    use super::session::Session;
    use super::stop::Stop;
    use crate::arch::x86_64::serial::COM2;
    use crate::cmdline::DomainRef;
    use crate::domain::table::DomainTable;
    use crate::domain::vcpu::Context;
    use crate::domain::{Domain, State};
    use crate::mm::address::GuestVirtAddr;

    /// Vector of the debug exception (single step).
    const DEBUG: u8 = 1;
    /// Vector of the breakpoint exception (`int3`).
    const BREAKPOINT: u8 = 3;

    /// The session, if a domain is debugged.
    static SESSION: Mutex<Option<Session>> = Mutex::new(None);
    /// The debugged domain's identifier (0: none), read without the lock.
    static DEBUGGED: AtomicU32 = AtomicU32::new(0);

    /// The session if `domain` is the debugged one (the table lock is held
    /// by the caller: the order is always table, then session).
    fn session_of(domain_id: u32) -> Option<spin::MutexGuard<'static, Option<Session>>> {
        if DEBUGGED.load(Ordering::Relaxed) != domain_id || domain_id == 0 {
            return None;
        }
        let guard = SESSION.lock();
        guard.is_some().then_some(guard)
    }

    /// Starts a session for the domain `which` names, holding it before
    /// its first instruction. Reports and does nothing if there is no such
    /// domain or no COM2.
    pub fn attach(table: &mut DomainTable, which: DomainRef) {
        let Some(id) = which.select(table.iter().map(|d| (d.id(), d.name()))) else {
            log::warn!("gdb={}: no such domain; nothing to debug", which.as_str());
            return;
        };
        // A debugger may have spoken already: what arrived is its start.
        let Some(early) = COM2.init() else {
            log::warn!("gdb: no second serial port (COM2) for the debugger; domain {id} runs");
            return;
        };
        let Some(mut session) = Session::new(id) else {
            log::warn!("gdb: the debugger could not be set up; domain {id} runs");
            return;
        };
        if let Some(domain) = table.domain(id) {
            domain.hold();
            log::info!(
                "gdb: domain {id} '{}' waits for a debugger on COM2",
                domain.name()
            );
        }
        session.serve(table, early.as_slice());
        *SESSION.lock() = Some(session);
        DEBUGGED.store(id, Ordering::Relaxed);
    }

    /// Serves the debugger (see the module's documentation); returns the
    /// index of a domain the debugger asked to kill, for the caller to end.
    /// Every domain's registers must be parked.
    #[inline]
    pub fn service(table: &mut DomainTable) -> Option<usize> {
        match DEBUGGED.load(Ordering::Relaxed) {
            0 => None,
            id => serve(table, id),
        }
    }

    /// [`service`] when domain `id` is debugged.
    #[inline(never)]
    fn serve(table: &mut DomainTable, id: u32) -> Option<usize> {
        let mut guard = SESSION.lock();
        let session = guard.as_mut()?;
        session.serve(table, &[]);
        session.take_kill().then(|| id as usize - 1)
    }

    /// Whether the idling hypervisor must keep looking at COM2: a debugger
    /// holds, or may interrupt, a live domain.
    pub fn listening(table: &DomainTable) -> bool {
        let id = DEBUGGED.load(Ordering::Relaxed);
        let Some(domain) = (id as usize)
            .checked_sub(1)
            .and_then(|i| table.iter().nth(i))
        else {
            return false;
        };
        domain.is_alive()
            && (domain.is_held() || SESSION.lock().as_ref().is_some_and(Session::is_attached))
    }

    /// A `#BP` or `#DB` the debugged domain raised in `context` (its live
    /// frame): if it is one of the debugger's breakpoints (rip is moved
    /// back onto it) or single steps, holds the domain and returns `true`.
    #[inline]
    pub fn takes_trap(domain: &mut Domain, context: &mut impl Context, vector: u8) -> bool {
        (vector == DEBUG || vector == BREAKPOINT) && debugger_trap(domain, context, vector)
    }

    /// [`takes_trap`] for a `#BP` or `#DB`.
    #[inline(never)]
    fn debugger_trap(domain: &mut Domain, context: &mut impl Context, vector: u8) -> bool {
        let Some(mut guard) = session_of(domain.id()) else {
            return false;
        };
        let Some(session) = guard.as_mut() else {
            return false;
        };
        let stop = match vector {
            DEBUG if session.target().is_stepping() => {
                let flags = context.rflags() & !crate::arch::x86_64::registers::RFLAGS_TF;
                context.set_rflags(flags);
                Stop::Step
            }
            BREAKPOINT => {
                let at = GuestVirtAddr(context.rip().wrapping_sub(1));
                let hit = domain
                    .debug_view()
                    .is_some_and(|view| session.target().breakpoints().is_hit(&view, at));
                if !hit {
                    return false;
                }
                context.set_rip(at.as_u64());
                Stop::Breakpoint
            }
            _ => return false,
        };
        domain.hold();
        session.stopped(stop);
        true
    }

    /// An exception `vector` that would end the debugged domain: while a
    /// debugger is attached, holds the domain for it and returns `true`
    /// (unless gdb passed this fault on when it resumed the domain).
    pub fn takes_fault(domain: &mut Domain, vector: u8) -> bool {
        let Some(mut guard) = session_of(domain.id()) else {
            return false;
        };
        let Some(session) = guard.as_mut() else {
            return false;
        };
        if !session.is_attached() || session.target_mut().passes_fault(vector) {
            return false;
        }
        domain.hold();
        session.stopped(Stop::Fault { vector });
        true
    }

    /// `domain` ended: a debugger waiting for it is told how (an exit
    /// code, or the signal of the fault it was stopped for).
    pub fn ended(domain: &Domain) {
        let Some(mut guard) = session_of(domain.id()) else {
            return;
        };
        let Some(session) = guard.as_mut() else {
            return;
        };
        session.target_mut().domain_ended();
        if !session.is_attached() {
            return;
        }
        let stop = match domain.state() {
            State::Exited(code) => Stop::Exited(code),
            _ => Stop::Killed(session.target().passed_fault()),
        };
        session.stopped(stop);
        session.report();
    }
}
