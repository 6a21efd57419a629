//! Time and sleeping: the one-shot timer and `block`.

use shared_abi::Status;

use super::Outcome;
use crate::domain::Domain;

/// `set_timer(deadline_ns)`: arms the one-shot timer for an absolute
/// virtual time (0 cancels). A deadline already past fires at once.
pub fn set_timer(domain: &mut Domain, deadline_ns: u64) -> Result<u64, Status> {
    domain.set_timer(deadline_ns);
    Ok(0)
}

/// `block()`: enables virtual interrupts and sleeps until an event is
/// pending (returns at once if one already is), like `sti; hlt`.
pub fn block(domain: &mut Domain) -> (Result<u64, Status>, Outcome) {
    if domain.shared().is_none() {
        return (Err(Status::NotReady), Outcome::Resume);
    }
    domain.set_upcall_mask(0);
    if domain.event_waiting() {
        (Ok(0), Outcome::Resume)
    } else {
        (Ok(0), Outcome::Block)
    }
}
