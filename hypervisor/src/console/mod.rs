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

#[cfg(target_os = "none")]
mod service;

#[cfg(target_os = "none")]
pub use service::{attach, drain, flush, message, service, set_color, uart_input, write_early};
