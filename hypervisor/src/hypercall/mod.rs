//! Hypercall dispatch: decode the number in `rax`, run the call, and put
//! the result (a value or a negative [`Status`]) back in `rax`.
//!
//! One file per family. Unknown numbers answer `UnknownHypercall`; no
//! argument a guest passes can make the hypervisor fault.

mod console;
mod info;
mod mmu;

use shared_abi::{Hypercall, Status};

use crate::domain::trap_delivery;
use crate::domain::{Domain, State};

/// What the caller of a hypercall does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Resume the calling domain.
    Resume,
    /// Let the next runnable domain run.
    Yield,
    /// The domain is over.
    End(State),
}

/// Serves the hypercall in `domain`'s saved registers.
pub fn dispatch(domain: &mut Domain) -> Outcome {
    let number = domain.vcpu.regs.rax;
    let args = domain.vcpu.regs.hypercall_args();
    let (result, outcome) = match Hypercall::from_number(number) {
        None => {
            log::debug!(
                "domain {} '{}': unknown hypercall {number}",
                domain.id,
                domain.name
            );
            (Err(Status::UnknownHypercall), Outcome::Resume)
        }
        Some(Hypercall::AbiVersion) => (Ok(shared_abi::ABI_VERSION as u64), Outcome::Resume),
        Some(Hypercall::ConsoleWrite) => {
            (console::write(domain, args[0], args[1]), Outcome::Resume)
        }
        Some(Hypercall::Yield) => (Ok(0), Outcome::Yield),
        Some(Hypercall::Shutdown) => (Ok(0), Outcome::End(State::Exited(args[0]))),
        Some(Hypercall::StartInfo) => (info::start_info(domain, args[0], args[1]), Outcome::Resume),
        Some(Hypercall::MmuSetBase) => (mmu::set_base(domain, args[0]), Outcome::Resume),
        Some(Hypercall::MmuGetBase) => (mmu::get_base(domain), Outcome::Resume),
        Some(Hypercall::MmuInvalidatePage) => {
            (mmu::invalidate_page(domain, args[0]), Outcome::Resume)
        }
        Some(Hypercall::MmuFlush) => (mmu::flush(domain, args[0]), Outcome::Resume),
        Some(Hypercall::SetTrapHandler) => (
            trap_delivery::set_handler(domain, args[0], args[1]),
            Outcome::Resume,
        ),
        Some(Hypercall::Iret) => (trap_delivery::iret(domain), Outcome::Resume),
    };
    domain.vcpu.regs.rax = match result {
        Ok(value) => value,
        Err(status) => status.to_raw(),
    };
    outcome
}
