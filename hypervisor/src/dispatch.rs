//! What happens when a guest leaves ring 3: a hypercall is served, a page
//! fault is resolved by the shadow or reflected, an exception goes to the
//! guest's handler or stops the guest, and the scheduler picks who runs next.
//!
//! Called by the arch entry code with the registers of the domain that was
//! running; returns (through `regs`) the registers of the domain to resume
//! and its root table. When no domain is left it ends the hypervisor.

use shared_abi::exit::HvExit;

use crate::arch::x86_64::{cpu, entry, exception, qemu_exit, tlb};
use crate::containment;
use crate::domain::table::{DOMAINS, DomainTable};
use crate::domain::vcpu::Registers;
use crate::domain::{Domain, State, paging, trap_delivery};
use crate::hypercall::{self, Outcome};
use crate::mm::address::{GuestVirtAddr, MachineAddr};
use crate::mm::guest_walk::{Access, GuestFault};
use crate::mm::kernel_space;

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
}

/// Handles `exit` for the running domain and selects who runs next.
pub fn guest_exit(exit: GuestExit, regs: &mut Registers) -> MachineAddr {
    let mut table = DOMAINS.lock();
    let current = table.current;
    let domain = &mut table.domains[current];
    domain.vcpu.regs = *regs;
    let outcome = match exit {
        GuestExit::Hypercall => hypercall::dispatch(domain),
        GuestExit::Exception {
            vector,
            error_code,
            fault_address,
        } => exception(domain, vector, error_code, fault_address),
    };
    match outcome {
        Outcome::Resume => {
            *regs = domain.vcpu.regs;
            return root_of(domain);
        }
        Outcome::Yield => {}
        Outcome::End(state) => {
            // Leave the domain's tables before freeing them.
            // SAFETY: the hypervisor's own root maps everything it uses.
            unsafe { cpu::write_cr3(kernel_space::root()) };
            domain.release(state);
            if let State::Exited(code) = state {
                log::info!(
                    "domain {} '{}' shut down with code {code}",
                    domain.id,
                    domain.name
                );
            }
        }
    }
    let Some(next) = table.next_runnable() else {
        finish(&table);
    };
    table.current = next;
    *regs = table.domains[next].vcpu.regs;
    root_of(&table.domains[next])
}

/// A hardware exception from the guest: a page fault the shadow can
/// resolve is hidden; anything else goes to the guest's handler, or stops
/// the guest if it has none (or its handler cannot be entered).
fn exception(domain: &mut Domain, vector: u8, hardware_error: u64, address: u64) -> Outcome {
    let (error_code, fault_address) = if vector == exception::PAGE_FAULT {
        let access = Access {
            write: hardware_error & 2 != 0,
            fetch: hardware_error & 16 != 0,
        };
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
