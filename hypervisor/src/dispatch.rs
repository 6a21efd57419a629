//! What happens when a guest leaves ring 3: a hypercall is served, a page
//! fault is resolved by the shadow or reflected, an exception goes to the
//! guest's handler or stops the guest, the timer preempts; then the
//! scheduler picks who runs next, due timers fire, a pending upcall is
//! delivered, and the timer is armed.
//!
//! Called by the arch entry code with the frame of the domain that was
//! running: while a domain runs, its registers live in that frame, and the
//! common case (the same domain resumes) changes the frame in place. Only
//! when another domain is chosen are the registers parked in the domain's
//! vCPU and the next domain's loaded into the frame. When every domain is
//! blocked it idles with `hlt`; when none is left it ends the hypervisor.

use shared_abi::Hypercall;
use shared_abi::bundle::MAX_RESTARTS;
use shared_abi::event::Virq;
use shared_abi::exit::HvExit;
use shared_abi::hypercall::request::Iret;

use crate::arch::x86_64::frame::{Fast, ScratchFrame, TrapFrame};
use crate::arch::x86_64::trap::Exit;
use crate::arch::x86_64::{cpu, entry, exception, gdt, percpu, qemu_exit};
use crate::domain::restart::{self, Verdict};
use crate::domain::table::{DOMAINS, DomainTable};
use crate::domain::watchdog::Watchdog;
use crate::domain::{Domain, State, paging, trap_delivery};
use crate::hypercall::{self, Outcome};
use crate::launch::launch;
use crate::mm::address::{GuestVirtAddr, MachineAddr};
use crate::mm::guest_walk::Access;
use crate::mm::kernel_space;
use crate::time;
use crate::{console, containment, debug};

/// Page-fault error code bit: the access was a user-mode one.
const USER_ACCESS: u64 = crate::mm::guest_walk::error_code::USER;

/// How long a domain runs before the timer preempts it.
pub const TIME_SLICE_NS: u64 = 10_000_000;

/// The core's side of every guest exit (registered with the arch entry
/// code): serves `exit` and leaves in `frame` the context to resume, with
/// its address space loaded.
pub fn exit(frame: &mut TrapFrame, exit: Exit) {
    let mut table = DOMAINS.lock();
    let counters = table.caller().counters_mut();
    counters.exit();
    if matches!(exit, Exit::Hypercall) {
        counters.hypercall();
    }
    let outcome = match exit {
        Exit::Hypercall if table.caller().privilege().is_user() => {
            system_call(table.caller(), frame)
        }
        Exit::Hypercall => hypercall::dispatch(&mut table, frame),
        Exit::Exception {
            vector,
            error_code,
            fault_address,
        } => exception(table.caller(), frame, vector, error_code, fault_address),
        Exit::HypercallServed | Exit::Timer | Exit::Device => Outcome::Resume,
    };
    let quiet = !matches!(exit, Exit::Timer | Exit::Device);
    resume(table, outcome, quiet, frame);
}

/// The fast hypercall path (registered with the arch entry code): a call
/// that never changes who runs ([`hypercall::FastCall`]) is served on the
/// scratch frame itself, with no copy of the registers, and so is `iret`.
/// An upcall the call made due is delivered there too (the guest then
/// resumes with `iretq`); only if it cannot be delivered does [`exit`]
/// take over ([`Fast::Served`]). A `syscall` in guest-user mode never
/// arrives here but at [`system_call_fast`].
pub extern "C" fn hypercall_fast(frame: &mut ScratchFrame) -> Fast {
    let Some(call) = hypercall::fast_call_numbered(frame.rax) else {
        frame.complete_syscall();
        if frame.rax == Hypercall::Iret as u64 {
            return iret_fast(frame);
        }
        return Fast::Unserved;
    };
    let mut table = DOMAINS.lock();
    frame.rax = call(&mut table, frame.args());
    let domain = table.caller();
    domain.counters_mut().hypercall();
    if domain.upcall_due() {
        frame.complete_syscall();
        return upcall_fast(domain, frame);
    }
    Fast::Done
}

/// A `syscall` made in guest-user mode (registered with the arch entry
/// code, which calls it while a guest-user view is loaded): a system call,
/// which enters the guest kernel's system-call entry on the completed
/// scratch frame, resumed with `iretq`. If the guest kernel cannot be
/// entered, the full path ([`exit`]) tries again and stops the domain.
pub extern "C" fn system_call_fast(frame: &mut ScratchFrame) -> Fast {
    frame.complete_syscall();
    let mut table = DOMAINS.lock();
    let domain = table.caller();
    match trap_delivery::deliver_syscall(domain, frame) {
        Ok(()) => {
            domain.counters_mut().system_call();
            Fast::Iret
        }
        Err(_) => Fast::Unserved,
    }
}

/// `iret` on the completed scratch frame: the frame the guest's handler
/// returns to is restored into it and resumed with `iretq`. Out of line,
/// so that the common fast calls do not pay for its registers.
#[inline(never)]
fn iret_fast(frame: &mut ScratchFrame) -> Fast {
    let mut table = DOMAINS.lock();
    let domain = table.caller();
    domain.counters_mut().hypercall();
    match hypercall::trap::iret(domain, Iret, frame) {
        Ok(rax) => frame.rax = rax,
        Err(status) => {
            // Refused: the call returns its status where `syscall` left off.
            frame.rax = status.to_raw();
            return Fast::Done;
        }
    }
    if domain.upcall_due() {
        return upcall_fast(domain, frame);
    }
    Fast::Iret
}

/// Delivers the due upcall into the completed scratch frame.
#[inline(never)]
fn upcall_fast(domain: &mut Domain, frame: &mut ScratchFrame) -> Fast {
    match trap_delivery::deliver_upcall(domain, frame) {
        Ok(()) => Fast::Iret,
        // The full path stops the domain (delivery left the frame as it was).
        Err(_) => Fast::Served,
    }
}

/// Loads `domain`'s address space into CR3 (unless it is loaded already),
/// and tells the entry code whether it is a guest-user view.
fn load_address_space(domain: &Domain) {
    let root = domain.shadow().map_or_else(kernel_space::root, |shadow| {
        MachineAddr(shadow.machine_root())
    });
    // SAFETY: `root` is a domain address space built by
    // kernel_space::new_root, which maps the hypervisor identically.
    unsafe { cpu::switch_root(root) };
    percpu::this().set_guest_user(domain.privilege().is_user());
    // Only the driver domain reaches COM1's ports.
    gdt::allow_io_ports(domain.is_driver());
}

/// After an exit was served with `outcome`: the current domain continues
/// in `frame` if it may, else the scheduler picks who runs; due timers
/// fire and a due upcall is delivered. `quiet` says no time-driven event
/// happened (no timer interrupt): then, unless a domain timer was set, the
/// armed timer, the slice and the deadlines stand.
fn resume(
    mut table: spin::MutexGuard<'_, DomainTable>,
    outcome: Outcome,
    quiet: bool,
    frame: &mut TrapFrame,
) {
    if outcome == Outcome::Resume && quiet && !table.timers_changed() {
        let domain = table.caller();
        if !domain.upcall_due() || trap_delivery::deliver_upcall(domain, frame).is_ok() {
            return;
        }
        // The upcall cannot be delivered: the slow path stops the domain.
    }
    reschedule(table, outcome, frame);
}

/// The slow path of [`resume`]: parks the current domain's registers,
/// runs the backends and timers, picks who runs next and loads it.
#[inline(never)]
fn reschedule(
    mut table: spin::MutexGuard<'_, DomainTable>,
    outcome: Outcome,
    frame: &mut TrapFrame,
) {
    let current = table.current_index();
    let caller = table.caller();
    caller.vcpu_mut().park(frame);
    if outcome == Outcome::Block {
        caller.block();
    }
    if matches!(outcome, Outcome::Block | Outcome::Yield) {
        caller.note_waited();
    }
    table.clear_timer_changes();
    serve_debugger(&mut table);
    let (now, slice_end) = (time::now(), percpu::this().slice_end());
    let slice_over = now >= slice_end;
    // What a domain ran past its slice (a long hypercall: a console write
    // of many short lines, say) it pays back by sitting turns out. Not the
    // driver domain: what it runs over is the others' I/O (a UART the host
    // reads slowly holds up its `out`s), and sitting out would starve its
    // watchdog and every domain it serves.
    if slice_over && !table.at(current).is_driver() {
        table.at_mut(current).charge_overrun(now - slice_end);
    }
    let stay = match outcome {
        Outcome::Resume => !slice_over || starting_up(table.at(current)),
        Outcome::Yield => false,
        Outcome::Block => false,
        Outcome::End(state) => {
            end_domain(&mut table, current, state);
            false
        }
    };
    console::service(&mut table);
    let interrupted = crate::devices::assigned::service(&mut table);
    fire_due_timers(&mut table);
    let next = match interrupted {
        // The driver domain's device interrupted: it runs now, for what is
        // left of the slice (a fresh slice only if that is over), so that
        // interrupts never buy it more time than round robin gives. Its
        // watchdog may just have stopped it (`fire_due_timers`): an ended
        // domain never runs again.
        Some(driver) if driver != current && table.at(driver).is_runnable() => {
            if slice_over {
                start_slice();
            }
            driver
        }
        _ if stay && table.at(current).is_runnable() => {
            if slice_over {
                start_slice();
            }
            current
        }
        _ => {
            let next = pick_next(&mut table);
            start_slice();
            next
        }
    };
    let next = resume_or_stop(&mut table, next, frame);
    table.switch_to(next);
    arm_timer(&table);
    load_address_space(table.at(next));
}

/// Longest the driver domain runs at boot before it first waits.
const DRIVER_START_NS: u64 = 1_000_000_000;

/// Whether `domain` is the driver domain starting up: it runs on past its
/// slices until it first blocks or yields (its backends, the console
/// server among them, are then offered before the other domains look for
/// them), for at most [`DRIVER_START_NS`] of CPU time, so that one that
/// never waits cannot starve the others.
fn starting_up(domain: &Domain) -> bool {
    domain.is_driver()
        && !domain.has_waited()
        && domain.counters().cpu_ticks() < time::ns_to_tsc(DRIVER_START_NS)
}

/// A time slice in TSC ticks.
fn slice_ticks() -> u64 {
    time::ns_to_tsc(TIME_SLICE_NS)
}

/// Starts a new time slice now.
#[inline(always)]
fn start_slice() {
    percpu::this().set_slice_end(time::now() + slice_ticks());
}

/// A hardware exception from the guest: a page fault the shadow can
/// resolve is hidden; a debugger's breakpoint or single step holds the
/// domain for it; a privileged instruction of an emulated domain is
/// emulated (`crate::emulate`); anything else goes to the guest's handler,
/// or stops the guest if it has none (or its handler cannot be entered),
/// after a debugger attached to it has seen it.
fn exception(
    domain: &mut Domain,
    frame: &mut TrapFrame,
    vector: u8,
    hardware_error: u64,
    address: u64,
) -> Outcome {
    if debug::takes_trap(domain, frame, vector) {
        return Outcome::Yield;
    }
    // Guest-user code is never emulated: its faults go to its kernel.
    let emulates = |domain: &Domain| domain.mode().emulates() && !domain.privilege().is_user();
    let (error_code, fault_address) = if vector == exception::PAGE_FAULT {
        if hardware_error & USER_ACCESS == 0
            && emulates(domain)
            && let Some(outcome) =
                crate::trap_emulate::exception(domain, frame, vector, hardware_error)
        {
            return outcome;
        }
        let access = Access::of_page_fault(hardware_error);
        match domain.fill(GuestVirtAddr(address), access, hardware_error) {
            Ok(flush) => {
                paging::apply(flush);
                return Outcome::Resume;
            }
            Err(fault) => (fault.error_code, address),
        }
    } else if emulates(domain)
        && let Some(outcome) = crate::trap_emulate::exception(domain, frame, vector, hardware_error)
    {
        return outcome;
    } else {
        (hardware_error, 0)
    };
    let delivered = trap_delivery::deliver(domain, frame, vector, error_code, fault_address);
    delivered_or_stopped(domain, frame, delivered, vector, error_code, fault_address)
}

/// A system call from guest-user mode that the fast path could not
/// deliver (the frame completed by it): tried again, and the domain
/// stopped with a report if its kernel cannot be entered.
#[cold]
#[inline(never)]
fn system_call(domain: &mut Domain, frame: &mut TrapFrame) -> Outcome {
    let delivered = trap_delivery::deliver_syscall(domain, frame);
    if delivered.is_ok() {
        domain.counters_mut().system_call();
    }
    let vector = shared_abi::trap::SYSCALL_VECTOR as u8;
    delivered_or_stopped(domain, frame, delivered, vector, 0, 0)
}

/// After a delivery to the guest's handler: it resumes there, or a
/// debugger sees the fault, or the domain is stopped with a report.
fn delivered_or_stopped(
    domain: &mut Domain,
    frame: &TrapFrame,
    delivered: Result<(), trap_delivery::Undeliverable>,
    vector: u8,
    error_code: u64,
    fault_address: u64,
) -> Outcome {
    match delivered {
        Ok(()) => Outcome::Resume,
        Err(_) if debug::takes_fault(domain, vector) => Outcome::Yield,
        Err(why) => {
            let rip = frame.scratch.rip;
            containment::report(domain, rip, vector, error_code, fault_address, why);
            Outcome::End(State::Stopped)
        }
    }
}

/// Serves the debugger, if any, and ends a domain it killed. Every
/// domain's registers must be parked.
fn serve_debugger(table: &mut DomainTable) {
    if let Some(index) = debug::service(table) {
        end_domain(table, index, State::Stopped);
    }
}

/// Ends the domain at `index`: closes its ports, releases its grant
/// mappings and revokes every mapping of its pages, leaves its tables,
/// frees its memory.
fn end_domain(table: &mut DomainTable, index: usize, state: State) {
    if !table.at(index).is_alive() {
        return;
    }
    hypercall::event::close_all(table, index);
    let id = table.at(index).id();
    crate::domain::grants::release(table, id);
    crate::directory::ended(table, id);
    if table.at(index).is_driver() {
        crate::devices::assigned::driver_ended();
    }
    // SAFETY: the hypervisor's own root maps everything it uses.
    unsafe { cpu::write_cr3(kernel_space::root()) };
    percpu::this().set_guest_user(false);
    let domain = table.at_mut(index);
    crate::console::flush(domain);
    domain.end(state);
    if let State::Exited(code) = state {
        log::info!(
            "domain {} '{}' shut down with code {code}",
            domain.id(),
            domain.name()
        );
    }
    debug::ended(domain);
    if state == State::Stopped {
        restart(table, index);
    }
}

/// Restarts the domain at `index`, which the hypervisor just stopped, if
/// it is restartable and has restarts left.
fn restart(table: &mut DomainTable, index: usize) {
    let stopped = table.at(index);
    let (id, restarts) = (stopped.id(), stopped.restarts());
    let name = alloc::string::String::from(stopped.name());
    let args = alloc::string::String::from(stopped.args());
    match restart::verdict(stopped.recipe()) {
        Verdict::NotRestartable => {}
        Verdict::Exhausted => log::warn!(
            "domain {id} '{name}' stopped again after {restarts} restarts; not restarting it"
        ),
        Verdict::Again(recipe) => {
            log::warn!(
                "domain {id} '{name}' restarted (restart {} of {MAX_RESTARTS})",
                restarts + 1
            );
            match launch(id, &name, &args, recipe) {
                Ok(mut next) => {
                    // The new run keeps the id: its grant references
                    // must not repeat the old run's, which a backend may
                    // still hold.
                    *next.grants_mut() = table.at(index).grants().successor();
                    table.replace(index, next);
                }
                Err(error) => log::warn!("domain {id} '{name}' could not be restarted: {error}"),
            }
        }
    }
}

/// Raises the timer VIRQ of every domain whose deadline has passed, and
/// stops every domain whose watchdog expired.
fn fire_due_timers(table: &mut DomainTable) {
    let now = time::now();
    for index in 0..table.len() {
        let domain = table.at_mut(index);
        if !domain.is_alive() {
            continue;
        }
        if domain.take_due_timer(now) {
            domain.raise_virq(Virq::Timer);
        }
        if let Some(watchdog) = domain.take_expired_watchdog(now) {
            watchdog_expired(table, index, watchdog);
        }
    }
}

/// Stops the domain at `index`, whose `watchdog` expired (it is taken as
/// hung, and restarted if it is restartable).
#[cold]
fn watchdog_expired(table: &mut DomainTable, index: usize, watchdog: Watchdog) {
    let domain = table.at_mut(index);
    console::drain(domain);
    log::warn!(
        "domain {} '{}' stopped: watchdog expired (no watchdog call for {} ms)",
        domain.id(),
        domain.name(),
        watchdog.timeout_ns() / 1_000_000
    );
    end_domain(table, index, State::Stopped);
}

/// The next runnable domain after the current one, idling with `hlt`
/// while every live domain is blocked. Ends the hypervisor when no domain
/// is left, or when every one is blocked with nothing that could wake it.
fn pick_next(table: &mut DomainTable) -> usize {
    match table.next_runnable(slice_ticks()) {
        Some(next) => next,
        None => idle(table),
    }
}

/// [`pick_next`] when no domain is runnable: idles until one is.
#[inline(never)]
fn idle(table: &mut DomainTable) -> usize {
    loop {
        if let Some(next) = table.next_runnable(slice_ticks()) {
            return next;
        }
        // Backends that nobody is left to use end after a grace period.
        let grace_end = end_unused_backends(table);
        let blocked = table.iter().filter(|d| d.is_blocked());
        // Keyboard input (for the console server), or the driver
        // domain's device interrupting.
        let input_can_wake = blocked
            .clone()
            .any(|d| d.ports().irq_port().is_some() || console::is_server(d.id()));
        let deadline = blocked.clone().filter_map(|d| d.next_deadline()).min();
        let deadline = match (deadline, input_can_wake) {
            (Some(deadline), _) => Some(deadline),
            // Only input (keyboard, device) can wake someone: poll the
            // clock now and then, but sleep in between.
            (None, true) => Some(time::now() + slice_ticks()),
            (None, false) => None,
        };
        // A debugger may let a held domain go (or interrupt a blocked one).
        let deadline = match debug::listening(table) {
            true => {
                let poll = time::now() + time::ns_to_tsc(debug::POLL_NS);
                Some(deadline.map_or(poll, |deadline| deadline.min(poll)))
            }
            false => deadline,
        };
        let deadline = match grace_end {
            Some(grace_end) => Some(deadline.map_or(grace_end, |d| d.min(grace_end))),
            None => deadline,
        };
        let Some(deadline) = deadline else {
            for domain in blocked {
                log::warn!(
                    "domain {} '{}' is blocked with nothing to wake it",
                    domain.id(),
                    domain.name()
                );
            }
            finish(table);
        };
        time::arm_at(deadline);
        let halted = time::now();
        cpu::wait_for_interrupt();
        count_idle(table, time::now().saturating_sub(halted));
        fire_due_timers(table);
        console::service(table);
        crate::devices::assigned::service(table);
        serve_debugger(table);
    }
}

/// How long backends are kept once no other domain is left (time to
/// finish what they were doing and print it).
const UNUSED_BACKEND_GRACE_NS: u64 = 500_000_000;

/// When only backends were first seen left (0: not so).
static ONLY_BACKENDS_SINCE: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Ends the backends (driver domains serving a device) once they have
/// been the only live domains for [`UNUSED_BACKEND_GRACE_NS`]: no domain
/// is left that could connect to them. Returns the end of the grace
/// period while it runs.
fn end_unused_backends(table: &mut DomainTable) -> Option<u64> {
    use core::sync::atomic::Ordering;
    if !crate::directory::only_backends_left(table) {
        ONLY_BACKENDS_SINCE.store(0, Ordering::Relaxed);
        return None;
    }
    let now = time::now();
    let since = match ONLY_BACKENDS_SINCE.load(Ordering::Relaxed) {
        0 => {
            ONLY_BACKENDS_SINCE.store(now, Ordering::Relaxed);
            now
        }
        since => since,
    };
    // Called when nobody can run: a console server that has shown
    // everything (and serves no disk, whose backend may still have lines
    // to print once a frontend's end reaches it) has nothing left to do.
    let settled = !crate::directory::block_served() && console::feed_is_empty();
    let grace_end = match settled {
        true => now,
        false => since + time::ns_to_tsc(UNUSED_BACKEND_GRACE_NS),
    };
    if now < grace_end {
        return Some(grace_end);
    }
    for index in 0..table.len() {
        let domain = table.at(index);
        if domain.is_alive() {
            log::info!(
                "domain {} '{}': no domain left to serve; it ends",
                domain.id(),
                domain.name()
            );
            end_domain(table, index, State::Exited(0));
        }
    }
    ONLY_BACKENDS_SINCE.store(0, Ordering::Relaxed);
    None
}

/// Adds `ticks` halted to every live domain's `time.idle_tsc`.
fn count_idle(table: &DomainTable, ticks: u64) {
    for shared in table
        .iter()
        .filter(|d| d.is_alive())
        .filter_map(Domain::shared)
    {
        shared
            .time
            .idle_tsc
            .fetch_add(ticks, core::sync::atomic::Ordering::Relaxed);
    }
}

/// Loads the domain at `index` into `frame`, delivering a due upcall
/// there; a domain whose callback cannot be entered is stopped (or held
/// for its debugger) and another one chosen. Returns the index of the
/// domain loaded.
fn resume_or_stop(table: &mut DomainTable, mut index: usize, frame: &mut TrapFrame) -> usize {
    loop {
        let domain = table.at_mut(index);
        domain.vcpu_mut().resume_into(frame);
        if !domain.upcall_due() {
            return index;
        }
        match trap_delivery::deliver_upcall(domain, frame) {
            Ok(()) => return index,
            Err(why) => {
                let vector = shared_abi::trap::UPCALL_VECTOR as u8;
                // Its debugger sees it first (the domain is then held).
                if !debug::takes_fault(domain, vector) {
                    let rip = frame.scratch.rip;
                    containment::report(domain, rip, vector, 0, 0, why);
                    end_domain(table, index, State::Stopped);
                }
                table.switch_to(index);
                index = pick_next(table);
            }
        }
    }
}

/// Arms the hardware timer for the end of the slice or the earliest
/// domain timer, whichever comes first.
#[inline(always)]
fn arm_timer(table: &DomainTable) {
    let slice_end = percpu::this().slice_end();
    let deadline = table
        .iter()
        .filter(|d| d.is_alive())
        .filter_map(|d| d.next_deadline())
        .fold(slice_end, u64::min);
    time::arm_at(deadline);
}

/// Starts the first runnable domain. Never returns: from here on the
/// hypervisor runs only when a guest leaves ring 3.
pub fn start() -> ! {
    let frame = {
        let mut table = DOMAINS.lock();
        // The driver domain first, until it blocks: its devices and the
        // terminal are up before the guests need them, and its boot takes
        // no time from theirs.
        let driver_first = table.iter().position(|d| d.is_runnable() && d.is_driver());
        let first = match driver_first.or_else(|| table.iter().position(|d| d.is_runnable())) {
            Some(first) => first,
            None if table.is_empty() => finish(&table),
            // Held by a debugger, perhaps: wait for one to run.
            None => pick_next(&mut table),
        };
        table.switch_to(first);
        start_slice();
        arm_timer(&table);
        let mut frame = TrapFrame::default();
        table.at_mut(first).vcpu_mut().resume_into(&mut frame);
        load_address_space(table.at(first));
        alloc::boxed::Box::new(frame)
    };
    // SAFETY: the first domain's address space is loaded (it maps the
    // hypervisor identically); the frame describes its initial ring 3
    // state and lives on the heap, off the stack that the entry reuses.
    unsafe { entry::enter_frame(alloc::boxed::Box::leak(frame)) }
}

/// Called with the domain table as the run ends, if registered (the
/// tracer writes its recording then).
static AT_FINISH: spin::Once<fn(&DomainTable)> = spin::Once::new();

/// Registers `hook` to run as the hypervisor ends (once; later calls are
/// ignored).
pub fn at_finish(hook: fn(&DomainTable)) {
    AT_FINISH.call_once(|| hook);
}

/// Reports the outcome and ends the hypervisor.
fn finish(table: &DomainTable) -> ! {
    report_results(table);
    if let Some(hook) = AT_FINISH.get() {
        hook(table);
    }
    let status = if table.is_empty() {
        log::error!("no domain could be started");
        HvExit::NoDomains
    } else if table.all_succeeded() {
        log::info!("all domains finished");
        HvExit::Success
    } else {
        let failed = table
            .iter()
            .filter(|d| d.state() != State::Exited(0))
            .count();
        log::info!(
            "all domains finished: {failed} failed or stopped, {} image(s) rejected",
            table.rejected()
        );
        HvExit::DomainFailed
    };
    qemu_exit::exit(status)
}

/// One `result:` line per domain, in a fixed form tools parse:
/// `hv: result: domain ID 'NAME' OUTCOME`, where OUTCOME is
/// `exited with code N`, `stopped` (by the hypervisor) or `blocked` (with
/// nothing left to wake it).
fn report_results(table: &DomainTable) {
    for domain in table.iter() {
        let (id, name) = (domain.id(), domain.name());
        let args = format_args!("result: domain {id} '{name}' ");
        match domain.state() {
            State::Exited(code) => {
                crate::log::always(format_args!("{args}exited with code {code}"))
            }
            State::Stopped => crate::log::always(format_args!("{args}stopped")),
            State::Blocked | State::Runnable => crate::log::always(format_args!("{args}blocked")),
        }
    }
}
