//! The hypervisor binary. Execution starts at `pvh_start` in the library's
//! boot trampoline (`arch::x86_64::boot`); this file only links it in.
#![no_std]
#![no_main]

use hypervisor as _;
