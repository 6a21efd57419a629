//! The console: one terminal (COM1) shared by every domain.
//!
//! Once a domain offers `Kind::Console` (the driver domain does, at
//! boot), it serves the console: everything the terminal shows is queued
//! for it in order ([`feed`], read with `console_read`): each domain's
//! early-console output (the `console_write` hypercall), the end of a
//! domain, the hypervisor's own lines and the keys COM1 received before
//! the server reads them itself. The server runs the `terminal`
//! multiplexer and writes COM1. The split-console rings are not the
//! hypervisor's at all: each frontend grants its ring page to the server
//! (`frontend_connect(Console)`), and the server drains and fills them.
//! The hypervisor only remembers where each domain's rings are, so that
//! when it stops or ends a domain it passes on what is left in them
//! (`RecordKind::Rest`), before its report and before the grant goes.
//!
//! While no domain serves the console (before the driver domain offers
//! it, between its end and its restart, or in a boot without one), the
//! hypervisor shows the early console and its own lines itself, with the
//! same multiplexer; there is no input then. When the server ends, the
//! hypervisor shows what it had not read.

mod feed;
#[cfg(target_os = "none")]
mod service;

#[cfg(target_os = "none")]
pub use service::{
    command, drain, feed_is_empty, flush, is_server, message, must_wait, read_feed, serve, service,
    set_color, uart_input, uart_interrupt, unlend_feed, write_early,
};
