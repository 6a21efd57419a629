//! The hypervisor heap: a fixed arena in `.bss` managed by `talc`.
//!
//! The heap holds hypervisor bookkeeping (domain tables, names, line
//! buffers). Guest memory and page tables come from the frame allocator,
//! never from here.

use talc::TalcLock;
use talc::source::Claim;

pub use crate::memory_budget::HEAP_SIZE;

static mut ARENA: [u8; HEAP_SIZE] = [0; HEAP_SIZE];

#[global_allocator]
static ALLOCATOR: TalcLock<spin::Mutex<()>, Claim> = TalcLock::new(
    // SAFETY: ARENA is used by nothing but this allocator.
    unsafe { Claim::array(&raw mut ARENA) },
);
