//! The console: one terminal (COM1) shared by every domain.
//!
//! Output comes from each domain's early console (the `console_write`
//! hypercall) and from its split console (rings in a page it attached,
//! drained by [`service`]). Both go through the screen
//! (`crate::terminal`), which keeps lines of different domains apart and
//! shows the focused domain's prompt. Input arrives by UART interrupt,
//! passes the escape handler (focus switching, listing, end of input) and
//! is queued for the focused domain's input ring. The early console and
//! the hypervisor's log remain for boot messages and panics.
//!
//! Once a domain offers `Kind::Console`, it serves the console: all of
//! the above (every domain's output, the hypervisor's lines, the keys) is
//! queued for it in order ([`feed`], read with `console_read`), and it
//! runs the same multiplexer, writing COM1 itself; input comes back with
//! `console_input`. When that domain ends, the hypervisor shows what it
//! had not read and serves the console itself again.

mod feed;
#[cfg(target_os = "none")]
mod service;

#[cfg(target_os = "none")]
pub use service::{
    attach, command, drain, feed_is_empty, flush, is_server, message, must_wait, read_feed, serve,
    service, set_color, uart_input, uart_interrupt, unlend_feed, write_early,
};
