//! The domain record and its lifecycle.
//!
//! No field is seen outside `domain/`: callers go through the methods
//! here (and the ones in [`super::events`], [`super::guest_access`],
//! [`super::paging`] and [`super::trap_delivery`], the only other files
//! that see the memory, shadow, trap handlers, shared page and emulation
//! state; the mode is set once, before the domain first runs), so the
//! rules live with the data. [`super::create`] builds a domain with
//! [`Domain::new`]. The state moves only as follows, and only through the
//! methods in this file:
//!
//! ```text
//! Runnable --block()--> Blocked --wake()--> Runnable
//! Runnable | Blocked --end(Exited(code) | Stopped)--> ended (final)
//! ```
//!
//! [`Domain::block`] and [`Domain::wake`] change nothing for an ended
//! domain, and [`Domain::end`] accepts only an ended state, so an ended
//! domain never runs again. Apart from its state, a live domain may be
//! *held* by a debugger ([`Domain::hold`], [`Domain::release`]): a held
//! domain is not runnable whatever its state, and its events and timers
//! wait until it is released. (The record is built on machine frames, so
//! this is documented here rather than unit-tested on the host.)

use alloc::string::String;
use core::fmt::Write;

use shared_abi::emulation::Mode;

use super::console_ring::DomainConsole;
use super::counters::Counters;
use super::memory::DomainMemory;
use super::privilege::Privilege;
use super::restart::Recipe;
use super::vcpu::Vcpu;
use super::watchdog::Watchdog;
use crate::emulate::Emulation;
use crate::event::PortTable;
use crate::grant::table::GrantTable;
use crate::grant::window::Window;
use crate::mm::address::MachineAddr;
use crate::mm::machine_tables::MachineTables;
use crate::mm::shadow::Shadow;

/// The shadow state of a domain, over machine tables (see
/// [`super::paging`]).
pub type DomainShadow = Shadow<MachineTables>;

/// What a domain is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Ready to run (or running).
    Runnable,
    /// Waiting for an event (the `block` hypercall).
    Blocked,
    /// Shut down by its own hypercall with this code.
    Exited(u64),
    /// Stopped by the hypervisor for misbehaving.
    Stopped,
}

/// One guest.
pub struct Domain {
    /// Identifier, from 1.
    id: u32,
    /// Name from the bundle.
    name: String,
    /// Argument string from the bundle.
    args: String,
    /// Guest-physical memory (released when the domain ends).
    pub(super) memory: Option<DomainMemory>,
    /// Shadow page tables (released when the domain ends).
    pub(super) shadow: Option<DomainShadow>,
    /// Registered exception handlers by vector (0: none).
    pub(super) traps: [u64; shared_abi::trap::VECTORS as usize],
    /// The virtual CPU.
    vcpu: Vcpu,
    /// The vCPU's mode (guest kernel or guest user) and the guest kernel's
    /// entry for traps from guest-user mode.
    privilege: Privilege,
    /// Current state: changed only by the lifecycle methods below.
    state: State,
    /// Stopped by a debugger (not runnable until released).
    held: bool,
    /// TSC ticks it ran past the end of its slices (a long hypercall, an
    /// expensive exit), not yet paid back by sitting turns out.
    debt: u64,
    /// The domain's side of the console: where its split console rings
    /// are.
    console: DomainConsole,
    /// The shared-information page (a frame of the domain's own memory).
    pub(super) shared_info: Option<MachineAddr>,
    /// The event upcall entry point (0: none).
    callback: u64,
    /// The one-shot timer's deadline, as a TSC value.
    timer_deadline: Option<u64>,
    /// The armed watchdog.
    watchdog: Option<Watchdog>,
    /// How to build the domain again if the hypervisor stops it (`None`:
    /// not restartable).
    recipe: Option<Recipe>,
    /// TSC when the domain was created: virtual time 0.
    start_tsc: u64,
    /// Event-channel ports.
    ports: PortTable,
    /// The pages this domain lends to others.
    grants: GrantTable,
    /// The granted pages of others this domain has mapped.
    window: Window,
    /// Its region of the physical disk, which the driver domain's backend
    /// serves it.
    disk: DiskRegion,
    /// What the domain has done and cost so far.
    counters: Counters,
    /// The virtual CPU and patches of a domain whose privileged
    /// instructions are emulated (`None`: paravirtualized).
    pub(super) emulation: Option<alloc::boxed::Box<Emulation>>,
    /// The driver domain: given the physical disk (its configuration
    /// space, registers, interrupt and DMA addresses) and COM1's ports.
    driver: bool,
    /// Whether it has given the CPU up (blocked or yielded) since it
    /// started.
    waited: bool,
}

impl Domain {
    /// A runnable domain with a fresh console, ports and disk, no shared
    /// page, handlers or timer; virtual time starts now.
    pub(super) fn new(
        id: u32,
        name: String,
        args: String,
        memory: DomainMemory,
        shadow: DomainShadow,
        vcpu: Vcpu,
    ) -> Self {
        Domain {
            id,
            name,
            args,
            memory: Some(memory),
            shadow: Some(shadow),
            traps: [0; shared_abi::trap::VECTORS as usize],
            vcpu,
            privilege: Privilege::default(),
            state: State::Runnable,
            held: false,
            debt: 0,
            console: DomainConsole::default(),
            shared_info: None,
            callback: 0,
            timer_deadline: None,
            watchdog: None,
            recipe: None,
            start_tsc: crate::time::now(),
            ports: PortTable::default(),
            grants: GrantTable::default(),
            window: Window::default(),
            disk: DiskRegion::default(),
            counters: Counters::default(),
            emulation: None,
            driver: false,
            waited: false,
        }
    }

    /// Identifier, from 1.
    #[inline]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Name from the bundle.
    #[inline]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Argument string from the bundle.
    #[inline]
    pub fn args(&self) -> &str {
        &self.args
    }

    /// Guest-physical memory (`None` once the domain has ended).
    #[inline]
    pub fn memory(&self) -> Option<&DomainMemory> {
        self.memory.as_ref()
    }

    /// Shadow page tables (`None` once the domain has ended).
    #[inline]
    pub fn shadow(&self) -> Option<&DomainShadow> {
        self.shadow.as_ref()
    }

    /// Shadow page tables, to change (`None` once the domain has ended).
    #[inline]
    pub fn shadow_mut(&mut self) -> Option<&mut DomainShadow> {
        self.shadow.as_mut()
    }

    /// The virtual CPU.
    #[inline]
    pub fn vcpu_mut(&mut self) -> &mut Vcpu {
        &mut self.vcpu
    }

    /// The vCPU's mode and the guest kernel's entry for traps from
    /// guest-user mode.
    #[inline(always)]
    pub fn privilege(&self) -> &Privilege {
        &self.privilege
    }

    /// Changes them (the mode itself changes only through
    /// [`Privilege`]'s transitions).
    #[inline(always)]
    pub fn privilege_mut(&mut self) -> &mut Privilege {
        &mut self.privilege
    }

    /// Current state.
    #[inline]
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether the domain has not ended.
    #[inline]
    pub fn is_alive(&self) -> bool {
        matches!(self.state, State::Runnable | State::Blocked)
    }

    /// Whether the domain may be scheduled: runnable and not held.
    #[inline]
    pub fn is_runnable(&self) -> bool {
        self.state == State::Runnable && !self.held
    }

    /// Charges `ticks` it ran past the end of its slice.
    pub fn charge_overrun(&mut self, ticks: u64) {
        self.debt = self.debt.saturating_add(ticks);
    }

    /// Whether it sits out this turn, paying back a `slice` of its debt:
    /// it does while it owes at least a whole slice.
    pub fn sits_out(&mut self, slice: u64) -> bool {
        let owes = self.debt >= slice;
        if owes {
            self.debt -= slice;
        }
        owes
    }

    /// Stops a live domain for a debugger: it is not scheduled until
    /// [`Domain::release`].
    #[inline]
    pub fn hold(&mut self) {
        self.held = self.is_alive();
    }

    /// Lets a held domain run again.
    #[inline]
    pub fn release(&mut self) {
        self.held = false;
    }

    /// Whether a debugger holds the domain.
    #[inline]
    pub fn is_held(&self) -> bool {
        self.held
    }

    /// Whether the domain waits for an event.
    #[inline]
    pub fn is_blocked(&self) -> bool {
        self.state == State::Blocked
    }

    /// The domain gave the CPU up (it blocked or yielded).
    #[inline]
    pub fn note_waited(&mut self) {
        self.waited = true;
    }

    /// Whether the domain has given the CPU up since it started.
    #[inline]
    pub fn has_waited(&self) -> bool {
        self.waited
    }

    /// Puts a runnable domain to sleep until an event wakes it.
    #[inline]
    pub fn block(&mut self) {
        if self.state == State::Runnable {
            self.state = State::Blocked;
        }
    }

    /// Makes a blocked domain runnable again (an event arrived).
    #[inline]
    pub fn wake(&mut self) {
        if self.state == State::Blocked {
            self.state = State::Runnable;
        }
    }

    /// The domain's side of the console.
    #[inline]
    pub fn console(&self) -> &DomainConsole {
        &self.console
    }

    /// The domain's side of the console, to change.
    #[inline]
    pub fn console_mut(&mut self) -> &mut DomainConsole {
        &mut self.console
    }

    /// The event upcall entry point (0: none).
    #[inline]
    pub fn callback(&self) -> u64 {
        self.callback
    }

    /// Sets the event upcall entry point (0 removes it); the caller checked
    /// that it is a lower-half address.
    #[inline]
    pub fn set_callback(&mut self, handler: u64) {
        self.callback = handler;
    }

    /// TSC when the domain was created: virtual time 0.
    #[inline]
    pub fn start_tsc(&self) -> u64 {
        self.start_tsc
    }

    /// Arms the one-shot timer for virtual time `deadline_ns` (0 cancels).
    #[inline]
    pub fn set_timer(&mut self, deadline_ns: u64) {
        self.timer_deadline = match deadline_ns {
            0 => None,
            ns => Some(self.start_tsc.saturating_add(crate::time::ns_to_tsc(ns))),
        };
    }

    /// Whether the timer is due at TSC `now`; a due timer is disarmed.
    #[inline]
    pub fn take_due_timer(&mut self, now: u64) -> bool {
        let due = self.timer_deadline.is_some_and(|deadline| deadline <= now);
        if due {
            self.timer_deadline = None;
        }
        due
    }

    /// Arms the watchdog for `timeout_ns` of virtual time from now (0
    /// disarms); `INVALID_ARGUMENT` outside the accepted range.
    pub fn set_watchdog(&mut self, timeout_ns: u64) -> Result<(), shared_abi::Status> {
        self.watchdog = Watchdog::arm(timeout_ns, crate::time::now(), crate::time::ns_to_tsc)?;
        Ok(())
    }

    /// The watchdog, if one is armed and its deadline has passed at TSC
    /// `now` (it is then disarmed).
    #[inline]
    pub fn take_expired_watchdog(&mut self, now: u64) -> Option<Watchdog> {
        match self.watchdog {
            Some(watchdog) if watchdog.expired(now) => self.watchdog.take(),
            _ => None,
        }
    }

    /// The earliest TSC at which the hypervisor must look at the domain:
    /// its timer or its watchdog.
    #[inline]
    pub fn next_deadline(&self) -> Option<u64> {
        let watchdog = self.watchdog.map(|watchdog| watchdog.deadline());
        match (self.timer_deadline, watchdog) {
            (Some(timer), Some(watchdog)) => Some(timer.min(watchdog)),
            (timer, watchdog) => timer.or(watchdog),
        }
    }

    /// How to build the domain again, if it is restartable.
    pub fn recipe(&self) -> Option<Recipe> {
        self.recipe
    }

    /// Makes the domain restartable from `recipe`.
    pub fn set_recipe(&mut self, recipe: Recipe) {
        self.recipe = Some(recipe);
    }

    /// Restarts before this run of the domain.
    pub fn restarts(&self) -> u32 {
        self.recipe.map_or(0, |recipe| recipe.restarts())
    }

    /// Event-channel ports.
    #[inline]
    pub fn ports(&self) -> &PortTable {
        &self.ports
    }

    /// Event-channel ports, to change.
    #[inline]
    pub fn ports_mut(&mut self) -> &mut PortTable {
        &mut self.ports
    }

    /// The pages this domain lends to others.
    #[inline]
    pub fn grants(&self) -> &GrantTable {
        &self.grants
    }

    /// The grant table, to change.
    #[inline]
    pub fn grants_mut(&mut self) -> &mut GrantTable {
        &mut self.grants
    }

    /// The granted pages of others this domain has mapped.
    #[inline]
    pub fn window(&self) -> &Window {
        &self.window
    }

    /// The window, to change (the frames themselves go through
    /// [`Domain::map_foreign`] and [`Domain::unmap_foreign`]).
    #[inline]
    pub fn window_mut(&mut self) -> &mut Window {
        &mut self.window
    }

    /// Its region of the physical disk.
    #[inline]
    pub fn disk(&self) -> &DiskRegion {
        &self.disk
    }

    /// Its region of the physical disk, to change.
    #[inline]
    pub fn disk_mut(&mut self) -> &mut DiskRegion {
        &mut self.disk
    }

    /// What the domain has done and cost so far.
    #[inline]
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The counters, to count.
    #[inline]
    pub fn counters_mut(&mut self) -> &mut Counters {
        &mut self.counters
    }

    /// How the domain's privileged instructions are served.
    #[inline]
    pub fn mode(&self) -> Mode {
        self.emulation
            .as_ref()
            .map_or(Mode::Paravirtual, |e| e.mode())
    }

    /// Sets the execution mode (before the domain first runs): an
    /// emulating mode gets a fresh virtual CPU.
    pub fn set_mode(&mut self, mode: Mode) {
        self.emulation = mode
            .emulates()
            .then(|| alloc::boxed::Box::new(Emulation::new(mode)));
    }

    /// Makes this the driver domain (before it first runs; its memory
    /// must be machine-contiguous, see [`super::create`]).
    pub fn set_driver(&mut self) {
        self.driver = true;
    }

    /// Whether this is the driver domain.
    #[inline(always)]
    pub fn is_driver(&self) -> bool {
        self.driver
    }

    /// The emulation state of a domain in an emulating mode.
    #[inline]
    pub fn emulation(&self) -> Option<&Emulation> {
        self.emulation.as_deref()
    }

    /// The emulation state, to change.
    #[inline]
    pub fn emulation_mut(&mut self) -> Option<&mut Emulation> {
        self.emulation.as_deref_mut()
    }

    /// Ends the domain with `state` (`Exited` or `Stopped`): forgets its
    /// console rings (what was left in them passed on first:
    /// `console::flush`), and
    /// frees its page tables and memory (the shared page and rings go with
    /// it). The caller must not be running on this domain's tables.
    pub fn end(&mut self, state: State) {
        assert!(!matches!(state, State::Runnable | State::Blocked));
        if let Some(emulation) = &self.emulation {
            log::info!(
                "domain {} '{}' ({} mode): {} instructions emulated, {} sites patched, {} patched executions",
                self.id,
                self.name,
                emulation.mode().name(),
                self.counters.emulated_instructions(),
                emulation.patches().count(),
                self.counters.patched_runs()
            );
        }
        self.console = DomainConsole::default();
        self.shared_info = None;
        self.watchdog = None;
        self.state = state;
        self.held = false;
        if let Some(shadow) = self.shadow.take() {
            let stats = shadow.stats();
            let mut pool = crate::log::LineBuffer::new();
            let _ = match stats.recycles {
                0 => write!(pool, "shadow pool never exhausted"),
                n => write!(pool, "shadow pool exhausted {n} times, recycled"),
            };
            log::debug!(
                "domain {} '{}': {} shadow fills, {} shadow roots built, {}",
                self.id,
                self.name,
                stats.fills,
                stats.root_misses + 1,
                core::str::from_utf8(pool.as_bytes()).unwrap_or("")
            );
            log::info!(
                "domain {} '{}': {} shadow table bytes at exit",
                self.id,
                self.name,
                shadow.tables_in_use() as u64 * crate::mm::address::PAGE_SIZE
            );
            shadow.into_pool().release();
        }
        self.memory = None;
    }

    /// Bytes of guest-physical memory.
    pub fn memory_bytes(&self) -> u64 {
        use crate::mm::guest_memory::GuestPhysMemory;
        self.memory.as_ref().map_or(0, |memory| memory.size())
    }
}

/// A domain's region of the physical disk: `sectors` 512-byte sectors
/// from `first_sector` (0 sectors: no disk). The hypervisor hands it out
/// (bundle entry or `dom_disk` layout); the driver domain's block backend
/// checks it against the disk and serves only it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskRegion {
    /// First physical sector of the region.
    pub first_sector: u64,
    /// Sectors in the region (0: no disk).
    pub sectors: u64,
}
