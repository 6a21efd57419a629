//! Why the hypervisor could not enter a guest's handler (an exception
//! handler, the upcall entry, or a virtual IDT gate): the domain is then
//! stopped and reported.

/// Why a handler could not be entered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undeliverable {
    /// No handler registered for the vector.
    NoHandler,
    /// The frame could not be written to the guest's stack.
    BadStack,
    /// The fault happened at the handler's own first instruction: entering
    /// the handler again would fault again.
    HandlerFaulted,
}
