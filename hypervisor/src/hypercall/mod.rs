//! Hypercall dispatch: decode the number in `rax`, run the call, and put
//! the result (a value or a negative [`Status`]) back in `rax`.
//!
//! One file per family. Unknown numbers answer `UnknownHypercall`; no
//! argument a guest passes can make the hypervisor fault.

mod console;
pub mod event;
mod info;
mod mmu;
mod multicall;
mod timer;

use shared_abi::{Hypercall, Status};

use crate::arch::x86_64::entry::TrapFrame;
use crate::domain::table::DomainTable;
use crate::domain::{State, trap_delivery};

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

/// A call that never changes who runs: the exit path serves it on the
/// caller's scratch registers, without saving the others. It gets the
/// domain table (the caller is its current domain) and the five arguments.
pub type FastCall = fn(&mut DomainTable, &[u64; 5]) -> Result<u64, Status>;

/// The handler of `call` if it is a [`FastCall`].
pub const fn fast_call(call: Hypercall) -> Option<FastCall> {
    let call: FastCall = match call {
        Hypercall::AbiVersion => |_, _| Ok(shared_abi::ABI_VERSION as u64),
        Hypercall::ConsoleWrite => |t, args| console::write(t.caller(), args[0], args[1]),
        Hypercall::StartInfo => |t, args| info::start_info(t.caller(), args[0], args[1]),
        Hypercall::MmuSetBase => |t, args| mmu::set_base(t.caller(), args[0]),
        Hypercall::MmuGetBase => |t, _| mmu::get_base(t.caller()),
        Hypercall::MmuInvalidatePage => |t, args| mmu::invalidate_page(t.caller(), args[0]),
        Hypercall::MmuFlush => |t, args| mmu::flush(t.caller(), args[0]),
        Hypercall::SetTrapHandler => {
            |t, args| trap_delivery::set_handler(t.caller(), args[0], args[1])
        }
        Hypercall::RegisterSharedInfo => |t, args| event::register_shared_info(t.caller(), args[0]),
        Hypercall::SetCallback => |t, args| event::set_callback(t.caller(), args[0]),
        Hypercall::EventBindVirq => |t, args| event::bind_virq(t.caller(), args[0]),
        Hypercall::EventStatus => |t, args| event::status(t.caller(), args[0]),
        Hypercall::EventUnmask => |t, args| event::unmask(t.caller(), args[0]),
        // Delivery happens on the way back to the guest.
        Hypercall::ForceCallback => |_, _| Ok(0),
        Hypercall::ConsoleAttach => |t, args| crate::console::attach(t.caller(), args[0]),
        Hypercall::BlockInfo => |t, _| Ok(t.caller().disk().sectors),
        Hypercall::BlockQueueSetup => |t, args| {
            crate::devices::block::backend::setup(t.caller(), args[0], args[1], args[2], args[3])
        },
        Hypercall::EventAllocUnbound => |t, args| event::alloc_unbound(t, args[0]),
        Hypercall::EventBindInterdomain => |t, args| event::bind_interdomain(t, args[0], args[1]),
        Hypercall::EventSend => |t, args| event::send(t, args[0]),
        Hypercall::EventClose => |t, args| event::close(t, args[0]),
        Hypercall::DomainLookup => |t, args| event::lookup(t, args[0], args[1]),
        Hypercall::Multicall => |t, args| multicall::multicall(t, args[0], args[1]),
        Hypercall::Yield
        | Hypercall::Shutdown
        | Hypercall::Iret
        | Hypercall::SetTimer
        | Hypercall::Block => return None,
    };
    Some(call)
}

/// Every fast call by number (`None`: a call that may change who runs, or
/// an unknown number).
static FAST_CALLS: [Option<FastCall>; Hypercall::ALL.len()] = {
    let mut table: [Option<FastCall>; Hypercall::ALL.len()] = [None; Hypercall::ALL.len()];
    let mut number = 0;
    while number < table.len() {
        table[number] = fast_call(Hypercall::ALL[number]);
        number += 1;
    }
    table
};

/// The fast call numbered `number`, if it is one: one table lookup.
pub fn fast_call_numbered(number: u64) -> Option<FastCall> {
    *FAST_CALLS.get(usize::try_from(number).ok()?)?
}

/// The value `rax` carries back for `result`.
pub fn encode(result: Result<u64, Status>) -> u64 {
    match result {
        Ok(value) => value,
        Err(status) => status.to_raw(),
    }
}

/// Serves the hypercall in `context`, the current domain's live registers
/// (number in `rax`, arguments in `rdi`, `rsi`, `rdx`, `r10`, `r8`); the
/// result goes back in `rax`.
pub fn dispatch(table: &mut DomainTable, context: &mut TrapFrame) -> Outcome {
    let (result, outcome) = serve(table, context);
    context.scratch.rax = encode(result);
    outcome
}

fn serve(table: &mut DomainTable, context: &mut TrapFrame) -> (Result<u64, Status>, Outcome) {
    let number = context.scratch.rax;
    let args = *context.scratch.args();
    let resume = |result| (result, Outcome::Resume);
    let Some(call) = Hypercall::from_number(number) else {
        let domain = table.caller();
        log::debug!(
            "domain {} '{}': unknown hypercall {number}",
            domain.id(),
            domain.name()
        );
        return resume(Err(Status::UnknownHypercall));
    };
    let domain = table.caller();
    match call {
        Hypercall::Yield => (Ok(0), Outcome::Yield),
        Hypercall::Shutdown => (Ok(0), Outcome::End(State::Exited(args[0]))),
        Hypercall::Iret => resume(trap_delivery::iret(domain, context)),
        Hypercall::SetTimer => {
            let result = timer::set_timer(domain, args[0]);
            table.note_timer_change();
            resume(result)
        }
        Hypercall::Block => timer::block(domain),
        call => match fast_call(call) {
            Some(fast) => resume(fast(table, &args)),
            None => resume(Err(Status::UnknownHypercall)),
        },
    }
}
