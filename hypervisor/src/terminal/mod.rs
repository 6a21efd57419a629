//! A domain's side of the shared terminal that the hypervisor keeps: its
//! split console rings (`device`) and its console state (`DomainConsole`,
//! held in its record). The terminal itself (screen, escape keys, focus)
//! is the `terminal` crate's; `crate::console` runs it for COM1.

#[cfg(target_os = "none")]
pub mod device;
#[cfg(target_os = "none")]
mod domain_console;

#[cfg(target_os = "none")]
pub use domain_console::DomainConsole;
