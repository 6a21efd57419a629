//! The tracer: with the `trace` command-line word the hypervisor records
//! hypercalls, exits by kind, shadow fills, reflected exceptions, upcalls,
//! and switches between domains, with TSC
//! timestamps, into a bounded buffer, and writes it to QEMU's debug
//! console when the run ends (`cargo xtask trace` reads it; the format is
//! `shared_abi::trace`).
//!
//! Tracing costs nothing when it is off: the entry code reaches the core
//! through the function pointers registered at boot, and only a traced
//! boot registers the wrappers here ([`hypercall_fast`], [`exit`]), which
//! look at the current domain before and after the real ones run.

pub mod buffer;

#[cfg(target_os = "none")]
mod hooks;

#[cfg(target_os = "none")]
pub use hooks::{dump, enable, exit, hypercall_fast, system_call_fast};
