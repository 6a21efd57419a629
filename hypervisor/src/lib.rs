//! A paravirtualizing microhypervisor for x86_64.
//!
//! It boots under QEMU by PVH, runs guest kernels deprivileged in ring 3
//! and serves them through the hypercall ABI of the `shared-abi` crate.
//! The pure parts (page tables, frame allocation, ELF validation, loading,
//! scheduling policy, command line, instruction naming) build on the host
//! and are unit-tested there; everything that needs the machine is compiled
//! only for `target_os = "none"`.
#![cfg_attr(not(test), no_std)]
// Host builds compile the pure parts for their unit tests; what only the
// machine uses looks unused there. The target build keeps both lints.
#![cfg_attr(not(target_os = "none"), allow(dead_code, unused_imports))]

extern crate alloc;

pub(crate) mod arch;
pub mod cmdline;
pub(crate) mod console;
pub(crate) mod debug;
pub(crate) mod devices;
pub(crate) mod directory;
pub(crate) mod disk_regions;
pub(crate) mod domain;
pub(crate) mod emulate;
pub(crate) mod event;
pub(crate) mod grant;
pub(crate) mod instruction;
pub mod loader;
pub mod memory_budget;
pub mod mm;
pub(crate) mod sched;
pub(crate) mod trace;

#[cfg(target_os = "none")]
pub(crate) mod boot;
#[cfg(target_os = "none")]
pub(crate) mod containment;
#[cfg(target_os = "none")]
pub(crate) mod dispatch;
#[cfg(target_os = "none")]
pub(crate) mod hypercall;
#[cfg(target_os = "none")]
pub(crate) mod init;
#[cfg(target_os = "none")]
pub(crate) mod launch;
#[cfg(target_os = "none")]
pub(crate) mod log;
#[cfg(target_os = "none")]
pub(crate) mod time;
#[cfg(target_os = "none")]
pub(crate) mod trap_emulate;

#[cfg(all(target_os = "none", not(test)))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    arch::x86_64::fatal::panic(info)
}
