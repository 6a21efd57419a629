//! Domains: a guest's memory, address space, vCPU, console and fate.
//!
//! [`vcpu`] is pure; the rest is built on the machine's frame allocator and
//! page tables. [`create`] turns a bundle entry into a runnable domain;
//! [`table`] holds every domain and which one runs.

#[cfg(target_os = "none")]
pub mod console_ring;
pub mod counters;
pub mod privilege;
pub mod vcpu;

#[cfg(target_os = "none")]
mod create;
#[cfg(target_os = "none")]
mod events;
#[cfg(target_os = "none")]
pub mod grants;
#[cfg(target_os = "none")]
mod guest_access;
#[cfg(target_os = "none")]
mod memory;
#[cfg(target_os = "none")]
pub mod paging;
pub mod restart;
#[cfg(target_os = "none")]
pub mod table;
#[cfg(target_os = "none")]
pub mod trap_delivery;
pub mod undeliverable;
#[cfg(target_os = "none")]
mod virtual_idt;
pub mod watchdog;

#[cfg(target_os = "none")]
pub use create::{Placement, create};
#[cfg(target_os = "none")]
pub use guest_access::CodeByte;
#[cfg(target_os = "none")]
pub use memory::DomainMemory;
#[cfg(target_os = "none")]
pub use record::{Domain, State};

#[cfg(target_os = "none")]
mod record;
