//! A paravirtualizing microhypervisor for x86_64.
//!
//! It boots under QEMU by PVH, runs guest kernels deprivileged in ring 3
//! and serves them through the hypercall ABI of the `shared-abi` crate.
//! The pure parts (page tables, frame allocation, ELF validation, loading,
//! scheduling policy, command line, instruction naming) build on the host
//! and are unit-tested there; everything that needs the machine is compiled
//! only for `target_os = "none"`.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod arch;
pub mod cmdline;
pub mod console;
pub mod devices;
pub mod domain;
pub mod event;
pub mod instruction;
pub mod loader;
pub mod memory_budget;
pub mod mm;
pub mod sched;

#[cfg(target_os = "none")]
pub mod boot;
#[cfg(target_os = "none")]
pub mod containment;
#[cfg(target_os = "none")]
pub mod dispatch;
#[cfg(target_os = "none")]
pub mod hypercall;
#[cfg(target_os = "none")]
pub mod init;
#[cfg(target_os = "none")]
pub mod log;
#[cfg(target_os = "none")]
pub mod time;

#[cfg(all(target_os = "none", not(test)))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    arch::x86_64::fatal::panic(info)
}
