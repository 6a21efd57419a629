//! Trap-and-emulate: what the hypervisor does when a domain in an
//! emulating execution mode faults. [`exit`] takes the fault from the
//! dispatcher and runs the emulator (`crate::emulate`, which knows
//! nothing of domains) against the domain, seen through
//! [`domain_machine`]; what it does not emulate goes back to the
//! dispatcher.

mod domain_machine;
mod exit;

pub use exit::exception;
