//! Support library for guest kernels running on the microhypervisor.
//!
//! A guest is an ordinary `bootloader_api::entry_point!` kernel: the
//! hypervisor loads it, maps its stack and boot information as the
//! `.bootloader-config` asks, and enters it in ring 3. Everything a bare-metal
//! kernel would do with a privileged instruction it does through the
//! runtime of `shared_abi::guest` (hypercall wrappers, `print!`, memory,
//! virtual interrupts, timer, split console and block frontends), which
//! this library re-exports under its own paths (`interrupts`, `timer`,
//! `memory::{frames, paging}`, `drivers::{console, block}`). It adds what is
//! particular to this kernel: kernel threads, demand paging and the heap,
//! the ext2 filesystem (read and written) and the shell, the panic handler every binary of this
//! crate shares, and small helpers for scenario guests that check their own
//! expectations.
#![no_std]

extern crate alloc;

pub mod bench_user;
pub mod checksum;
pub mod cpu_share;
pub mod driver_domain;
pub mod drivers;
pub mod fs;
pub mod fuzz;
pub mod measure;
pub mod memory;
pub mod native;
pub mod port_io;
pub mod process;
pub mod programs;
pub mod scenario;
pub mod shell;
pub mod shell_files;
pub mod threads;
pub mod traps;

pub use shared_abi::guest as hv;
pub use shared_abi::guest::{interrupts, timer};
pub use shared_abi::{print, println};

/// Reports the panic on the early console and ends the domain (the
/// runtime's report, shared by every binary of this crate).
#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hv::entry::report_panic(info)
}
