//! Hypercall dispatch: decode the number in `rax`, run the call, and put
//! the result (a value or a negative [`Status`]) back in `rax`.
//!
//! One file per family. Unknown numbers answer `UnknownHypercall`; no
//! argument a guest passes can make the hypervisor fault.

mod console;
pub mod event;
mod info;
mod mmu;
mod timer;

use shared_abi::{Hypercall, Status};

use crate::domain::table::DomainTable;
use crate::domain::{Domain, State, trap_delivery};

/// What the caller of a hypercall does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Resume the calling domain.
    Resume,
    /// Let the next runnable domain run.
    Yield,
    /// The domain sleeps until an event arrives.
    Block,
    /// The domain is over.
    End(State),
}

/// A call that needs nothing but the calling domain and its arguments, and
/// never changes who runs: the exit path may serve it without saving the
/// caller's registers.
pub type DomainCall = fn(&mut Domain, &[u64; 5]) -> Result<u64, Status>;

/// The handler of `call` if it is a [`DomainCall`].
pub const fn domain_call(call: Hypercall) -> Option<DomainCall> {
    let call: DomainCall = match call {
        Hypercall::AbiVersion => |_, _| Ok(shared_abi::ABI_VERSION as u64),
        Hypercall::ConsoleWrite => |domain, args| console::write(domain, args[0], args[1]),
        Hypercall::StartInfo => |domain, args| info::start_info(domain, args[0], args[1]),
        Hypercall::MmuSetBase => |domain, args| mmu::set_base(domain, args[0]),
        Hypercall::MmuGetBase => |domain, _| mmu::get_base(domain),
        Hypercall::MmuInvalidatePage => |domain, args| mmu::invalidate_page(domain, args[0]),
        Hypercall::MmuFlush => |domain, args| mmu::flush(domain, args[0]),
        Hypercall::SetTrapHandler => {
            |domain, args| trap_delivery::set_handler(domain, args[0], args[1])
        }
        Hypercall::RegisterSharedInfo => {
            |domain, args| event::register_shared_info(domain, args[0])
        }
        Hypercall::SetCallback => |domain, args| event::set_callback(domain, args[0]),
        Hypercall::EventBindVirq => |domain, args| event::bind_virq(domain, args[0]),
        Hypercall::EventStatus => |domain, args| event::status(domain, args[0]),
        Hypercall::EventUnmask => |domain, args| event::unmask(domain, args[0]),
        // Delivery happens on the way back to the guest.
        Hypercall::ForceCallback => |_, _| Ok(0),
        Hypercall::ConsoleAttach => |domain, args| crate::console::attach(domain, args[0]),
        Hypercall::BlockInfo => |domain, _| Ok(domain.disk.sectors),
        Hypercall::BlockQueueSetup => |domain, args| {
            crate::devices::block::backend::setup(domain, args[0], args[1], args[2], args[3])
        },
        _ => return None,
    };
    Some(call)
}

/// Every domain call by number (`None`: not a domain call, or unknown).
static DOMAIN_CALLS: [Option<DomainCall>; Hypercall::ALL.len()] = {
    let mut table: [Option<DomainCall>; Hypercall::ALL.len()] = [None; Hypercall::ALL.len()];
    let mut number = 0;
    while number < table.len() {
        table[number] = domain_call(Hypercall::ALL[number]);
        number += 1;
    }
    table
};

/// The handler of hypercall `number` if it is a [`DomainCall`]: one table
/// lookup, for the fast path.
pub fn domain_call_numbered(number: u64) -> Option<DomainCall> {
    *DOMAIN_CALLS.get(usize::try_from(number).ok()?)?
}

/// The value `rax` carries back for `result`.
pub fn encode(result: Result<u64, Status>) -> u64 {
    match result {
        Ok(value) => value,
        Err(status) => status.to_raw(),
    }
}

/// Serves the hypercall in the current domain's saved registers.
pub fn dispatch(table: &mut DomainTable) -> Outcome {
    let current = table.current;
    let (result, outcome) = serve(table);
    table.domains[current].vcpu.regs.rax = encode(result);
    outcome
}

fn serve(table: &mut DomainTable) -> (Result<u64, Status>, Outcome) {
    let current = table.current;
    let domain = &mut table.domains[current];
    let number = domain.vcpu.regs.rax;
    let args = domain.vcpu.regs.hypercall_args();
    let resume = |result| (result, Outcome::Resume);
    let Some(call) = Hypercall::from_number(number) else {
        log::debug!(
            "domain {} '{}': unknown hypercall {number}",
            domain.id,
            domain.name
        );
        return resume(Err(Status::UnknownHypercall));
    };
    match call {
        Hypercall::Yield => (Ok(0), Outcome::Yield),
        Hypercall::Shutdown => (Ok(0), Outcome::End(State::Exited(args[0]))),
        Hypercall::Iret => resume(trap_delivery::iret(domain)),
        Hypercall::SetTimer => {
            let result = timer::set_timer(domain, args[0]);
            table.timers_changed = true;
            resume(result)
        }
        Hypercall::Block => timer::block(domain),
        Hypercall::EventAllocUnbound => resume(event::alloc_unbound(table, args[0])),
        Hypercall::EventBindInterdomain => resume(event::bind_interdomain(table, args[0], args[1])),
        Hypercall::EventSend => resume(event::send(table, args[0])),
        Hypercall::EventClose => resume(event::close(table, args[0])),
        Hypercall::DomainLookup => resume(event::lookup(table, args[0], args[1])),
        call => match domain_call(call) {
            Some(serve) => resume(serve(domain, &args)),
            None => resume(Err(Status::UnknownHypercall)),
        },
    }
}
