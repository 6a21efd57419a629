//! The calls that may change who runs: `yield()`, `shutdown(code)`,
//! `set_timer(deadline_ns)`, `block()` and `watchdog(timeout_ns)`. Each
//! returns what the scheduler does next with its result.

use shared_abi::Status;
use shared_abi::hypercall::request::{Block, SetTimer, Shutdown, Watchdog, Yield};

use super::Outcome;
use crate::domain::table::DomainTable;
use crate::domain::{Domain, State};

/// A handler's result and what happens to its caller.
type Served = (Result<(), Status>, Outcome);

/// `yield()`: the next runnable domain runs.
pub(super) fn yield_now(_: &mut Domain, _: Yield) -> Served {
    (Ok(()), Outcome::Yield)
}

/// `shutdown(code)`: the domain ends with `code`.
pub(super) fn shutdown(_: &mut Domain, Shutdown { code }: Shutdown) -> Served {
    (Ok(()), Outcome::End(State::Exited(code)))
}

/// `set_timer(deadline_ns)`: arms the one-shot timer for an absolute
/// virtual time (0 cancels). A deadline already past fires at once.
pub(super) fn set_timer(table: &mut DomainTable, SetTimer { deadline_ns }: SetTimer) -> Served {
    table.caller().set_timer(deadline_ns);
    table.note_timer_change();
    (Ok(()), Outcome::Resume)
}

/// `block()`: enables virtual interrupts and sleeps until an event is
/// pending (returns at once if one already is), like `sti; hlt`.
pub(super) fn block(domain: &mut Domain, _: Block) -> Served {
    if domain.shared().is_none() {
        return (Err(Status::NotReady), Outcome::Resume);
    }
    domain.set_upcall_mask(0);
    if domain.event_waiting() {
        (Ok(()), Outcome::Resume)
    } else {
        (Ok(()), Outcome::Block)
    }
}

/// `watchdog(timeout_ns)`: the domain must call again within `timeout_ns`
/// of virtual time or be stopped as hung (0 disarms). The hardware timer
/// is re-armed for the new deadline.
pub(super) fn watchdog(table: &mut DomainTable, Watchdog { timeout_ns }: Watchdog) -> Served {
    let result = table.caller().set_watchdog(timeout_ns);
    table.note_timer_change();
    (result, Outcome::Resume)
}
