//! What happens when a guest leaves ring 3: a hypercall is served, a page
//! fault is resolved by the shadow or reflected, an exception goes to the
//! guest's handler or stops the guest, the timer preempts; then the
//! scheduler picks who runs next, due timers fire, a pending upcall is
//! delivered, and the timer is armed.
//!
//! Called by the arch entry code with the registers of the domain that was
//! running; returns (through `regs`) the registers of the domain to resume
//! and its root table. When every domain is blocked it idles with `hlt`;
//! when none is left it ends the hypervisor.

use core::sync::atomic::{AtomicU64, Ordering};

use shared_abi::event::Virq;
use shared_abi::exit::HvExit;

use crate::arch::x86_64::{cpu, entry, exception, qemu_exit, tlb};
use crate::domain::table::{DOMAINS, DomainTable};
use crate::domain::vcpu::Registers;
use crate::domain::{Domain, State, paging, trap_delivery};
use crate::hypercall::{self, Outcome};
use crate::mm::address::{GuestVirtAddr, MachineAddr};
use crate::mm::guest_walk::{Access, GuestFault};
use crate::mm::kernel_space;
use crate::time;
use crate::{console, containment};

/// How long a domain runs before the timer preempts it.
pub const TIME_SLICE_NS: u64 = 10_000_000;

/// Why the guest stopped running.
#[derive(Clone, Copy, Debug)]
pub enum GuestExit {
    /// It issued `syscall`.
    Hypercall,
    /// It raised an exception.
    Exception {
        /// Exception vector.
        vector: u8,
        /// Error code (0 when the vector has none).
        error_code: u64,
        /// CR2 for page faults.
        fault_address: u64,
    },
    /// The hypervisor's timer fired.
    Timer,
    /// A device interrupted (console input).
    Device,
}

/// TSC at which the running domain's time slice ends.
static SLICE_END: AtomicU64 = AtomicU64::new(0);

/// Handles `exit` for the running domain and selects who runs next.
pub fn guest_exit(exit: GuestExit, regs: &mut Registers) -> MachineAddr {
    let mut table = DOMAINS.lock();
    let current = table.current;
    table.domains[current].vcpu.regs = *regs;
    let outcome = match exit {
        GuestExit::Hypercall => hypercall::dispatch(&mut table),
        GuestExit::Exception {
            vector,
            error_code,
            fault_address,
        } => exception(
            &mut table.domains[current],
            vector,
            error_code,
            fault_address,
        ),
        GuestExit::Timer | GuestExit::Device => Outcome::Resume,
    };
    let quiet =
        !table.timers_changed && matches!(exit, GuestExit::Hypercall | GuestExit::Exception { .. });
    if outcome == Outcome::Resume && quiet {
        // The fast path: the same domain continues and nothing about time
        // changed, so the armed timer, the slice and the deadlines stand.
        if let Some(root) = resume_current(&mut table, regs) {
            return root;
        }
    }
    table.timers_changed = false;
    let slice_over = time::now() >= SLICE_END.load(Ordering::Relaxed);
    let stay = match outcome {
        Outcome::Resume => !slice_over,
        Outcome::Yield => false,
        Outcome::Block => {
            table.domains[current].state = State::Blocked;
            false
        }
        Outcome::End(state) => {
            end_domain(&mut table, current, state);
            false
        }
    };
    console::service(&mut table);
    crate::devices::block::service(&mut table);
    fire_due_timers(&mut table);
    let next = if stay && table.domains[current].state == State::Runnable {
        current
    } else {
        let next = pick_next(&mut table);
        SLICE_END.store(
            time::now() + time::ns_to_tsc(TIME_SLICE_NS),
            Ordering::Relaxed,
        );
        next
    };
    let next = deliver_upcall_or_stop(&mut table, next);
    table.current = next;
    arm_timer(&table);
    *regs = table.domains[next].vcpu.regs;
    root_of(&table.domains[next])
}

/// Resumes the current domain, delivering a due upcall first; `None` if
/// the upcall cannot be delivered (the slow path then stops the domain).
fn resume_current(table: &mut DomainTable, regs: &mut Registers) -> Option<MachineAddr> {
    let domain = &mut table.domains[table.current];
    if domain.upcall_due() && trap_delivery::deliver_upcall(domain).is_err() {
        return None;
    }
    *regs = domain.vcpu.regs;
    Some(root_of(domain))
}

/// A hardware exception from the guest: a page fault the shadow can
/// resolve is hidden; anything else goes to the guest's handler, or stops
/// the guest if it has none (or its handler cannot be entered).
fn exception(domain: &mut Domain, vector: u8, hardware_error: u64, address: u64) -> Outcome {
    let (error_code, fault_address) = if vector == exception::PAGE_FAULT {
        let access = Access::of_page_fault(hardware_error);
        let filled = match (domain.shadow.as_mut(), domain.memory.as_ref()) {
            (Some(shadow), Some(memory)) => {
                paging::fill(shadow, memory, GuestVirtAddr(address), access)
            }
            _ => Err(GuestFault {
                error_code: hardware_error,
            }),
        };
        match filled {
            Ok(flush) => {
                tlb::apply(flush);
                return Outcome::Resume;
            }
            Err(fault) => (fault.error_code, address),
        }
    } else {
        (hardware_error, 0)
    };
    match trap_delivery::deliver(domain, vector, error_code, fault_address) {
        Ok(()) => Outcome::Resume,
        Err(why) => {
            containment::report(domain, vector, error_code, fault_address, why);
            Outcome::End(State::Stopped)
        }
    }
}

/// Ends the domain at `index`: closes its ports, leaves its tables, frees
/// its memory.
fn end_domain(table: &mut DomainTable, index: usize, state: State) {
    hypercall::event::close_all(table, index);
    // SAFETY: the hypervisor's own root maps everything it uses.
    unsafe { cpu::write_cr3(kernel_space::root()) };
    let domain = &mut table.domains[index];
    domain.release(state);
    if let State::Exited(code) = state {
        log::info!(
            "domain {} '{}' shut down with code {code}",
            domain.id,
            domain.name
        );
    }
}

/// Raises the timer VIRQ of every domain whose deadline has passed.
fn fire_due_timers(table: &mut DomainTable) {
    let now = time::now();
    for domain in table.domains.iter_mut().filter(|d| d.is_alive()) {
        if domain
            .timer_deadline
            .is_some_and(|deadline| deadline <= now)
        {
            domain.timer_deadline = None;
            domain.raise_virq(Virq::Timer);
        }
    }
}

/// The next runnable domain after the current one, idling with `hlt`
/// while every live domain is blocked. Ends the hypervisor when no domain
/// is left, or when every one is blocked with nothing that could wake it.
fn pick_next(table: &mut DomainTable) -> usize {
    loop {
        if let Some(next) = table.next_runnable() {
            return next;
        }
        let blocked = table.domains.iter().filter(|d| d.state == State::Blocked);
        let console_can_wake = blocked.clone().any(|d| d.console.device.is_some());
        let deadline = blocked.clone().filter_map(|d| d.timer_deadline).min();
        let deadline = match (deadline, console_can_wake) {
            (Some(deadline), _) => Some(deadline),
            // Only keyboard input can wake someone: poll the clock now and
            // then, but sleep in between.
            (None, true) => Some(time::now() + time::ns_to_tsc(TIME_SLICE_NS)),
            (None, false) => None,
        };
        let Some(deadline) = deadline else {
            for domain in blocked {
                log::warn!(
                    "domain {} '{}' is blocked with nothing to wake it",
                    domain.id,
                    domain.name
                );
            }
            finish(table);
        };
        time::arm_at(deadline);
        cpu::wait_for_interrupt();
        fire_due_timers(table);
        console::service(table);
        crate::devices::block::service(table);
    }
}

/// Delivers a due upcall to the domain at `index` before it runs; a domain
/// whose callback cannot be entered is stopped and another one chosen.
fn deliver_upcall_or_stop(table: &mut DomainTable, mut index: usize) -> usize {
    loop {
        let domain = &mut table.domains[index];
        if !domain.upcall_due() {
            return index;
        }
        match trap_delivery::deliver_upcall(domain) {
            Ok(()) => return index,
            Err(why) => {
                containment::report(domain, shared_abi::trap::UPCALL_VECTOR as u8, 0, 0, why);
                end_domain(table, index, State::Stopped);
                table.current = index;
                index = pick_next(table);
            }
        }
    }
}

/// Arms the hardware timer for the end of the slice or the earliest
/// domain timer, whichever comes first.
fn arm_timer(table: &DomainTable) {
    let slice_end = SLICE_END.load(Ordering::Relaxed);
    let deadline = table
        .domains
        .iter()
        .filter(|d| d.is_alive())
        .filter_map(|d| d.timer_deadline)
        .fold(slice_end, u64::min);
    time::arm_at(deadline);
}

fn root_of(domain: &Domain) -> MachineAddr {
    domain
        .shadow
        .as_ref()
        .map_or_else(kernel_space::root, |shadow| {
            MachineAddr(shadow.machine_root())
        })
}

/// Starts the first runnable domain. Never returns: from here on the
/// hypervisor runs only when a guest leaves ring 3.
pub fn start() -> ! {
    let (frame, root) = {
        let mut table = DOMAINS.lock();
        let Some(first) = table
            .domains
            .iter()
            .position(|d| d.state == State::Runnable)
        else {
            finish(&table);
        };
        table.current = first;
        SLICE_END.store(
            time::now() + time::ns_to_tsc(TIME_SLICE_NS),
            Ordering::Relaxed,
        );
        arm_timer(&table);
        let mut frame = entry::TrapFrame::default();
        frame.load_guest(&table.domains[first].vcpu.regs);
        (
            alloc::boxed::Box::new(frame),
            root_of(&table.domains[first]),
        )
    };
    // SAFETY: `root` is the first domain's address space, which maps the
    // hypervisor identically; the frame describes its initial ring 3 state
    // and lives on the heap, off the stack that the entry reuses.
    unsafe {
        cpu::write_cr3(root);
        entry::enter_frame(alloc::boxed::Box::leak(frame))
    }
}

/// Reports the outcome and ends the hypervisor.
fn finish(table: &DomainTable) -> ! {
    report_results(table);
    let status = if table.domains.is_empty() {
        log::error!("no domain could be started");
        HvExit::NoDomains
    } else if table.all_succeeded() {
        log::info!("all domains finished");
        HvExit::Success
    } else {
        let failed = table
            .domains
            .iter()
            .filter(|d| d.state != State::Exited(0))
            .count();
        log::info!(
            "all domains finished: {failed} failed or stopped, {} image(s) rejected",
            table.rejected
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
    for domain in &table.domains {
        let (id, name) = (domain.id, domain.name.as_str());
        let args = format_args!("result: domain {id} '{name}' ");
        match domain.state {
            State::Exited(code) => {
                crate::log::always(format_args!("{args}exited with code {code}"))
            }
            State::Stopped => crate::log::always(format_args!("{args}stopped")),
            State::Blocked | State::Runnable => crate::log::always(format_args!("{args}blocked")),
        }
    }
}
