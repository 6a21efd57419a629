//! Event channels: each domain's port table, and the operations that
//! connect ports across domains.
//!
//! [`ports`] is the pure per-domain table and the cross-domain connection
//! logic (host-tested). Marking a port pending in a domain's
//! shared-information page and waking the domain is the domain layer's job
//! (`domain::events`).

pub mod ports;

pub use ports::PortTable;
