//! Guest memory management: the runtime's frame allocator and page-table
//! helper (`shared_abi::guest::memory`, re-exported here), plus what this
//! kernel adds on top: demand-paged regions and the heap.
//!
//! The guest reaches guest-physical memory (its page tables included)
//! through the physical-memory mapping its bootloader config asks for.
//! Changing a mapping follows the TLB discipline: the mapper invalidates
//! through the `mmu_invalidate_page` hypercall; no privileged instruction is
//! ever used.

pub mod demand;
pub mod heap;

pub use shared_abi::guest::memory::{frames, init, paging, phys_to_virt};
