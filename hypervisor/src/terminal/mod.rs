//! The pieces of a terminal shared by several domains, which know no
//! domain: the [`screen`] that keeps their lines apart, the [`escape`]
//! keys, a domain's split console rings (`device`) and a domain's side of
//! it all (`DomainConsole`, held in its record). `crate::console` runs
//! them for COM1.

pub mod escape;
pub mod screen;

#[cfg(target_os = "none")]
pub mod device;
#[cfg(target_os = "none")]
mod domain_console;

#[cfg(target_os = "none")]
pub use domain_console::DomainConsole;
