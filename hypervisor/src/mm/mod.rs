//! Memory management: typed addresses, page tables, frame allocation, guest
//! memory access and the hypervisor's own address space.
//!
//! The generic parts (`address`, `page_table`, `frame_allocator`,
//! `guest_memory`) are pure and host-tested; the rest is the target's global
//! state built on them.

pub mod address;
pub mod frame_allocator;
pub mod guest_memory;
pub mod guest_view;
pub mod guest_walk;
pub use shared_abi::page_table;
pub mod shadow;

pub mod direct_map;
#[cfg(target_os = "none")]
pub mod frames;
#[cfg(target_os = "none")]
pub mod heap;
#[cfg(target_os = "none")]
pub mod kernel_space;
#[cfg(target_os = "none")]
pub mod machine_tables;
