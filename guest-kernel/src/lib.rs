//! Support library for guest kernels running on the microhypervisor.
//!
//! A guest is an ordinary `bootloader_api::entry_point!` kernel: the
//! hypervisor loads it, maps its stack and boot information as the
//! `.bootloader-config` asks, and enters it in ring 3. Everything a bare-metal
//! kernel would do with a privileged instruction it does through the
//! hypercall wrappers of `shared_abi::guest`. This library adds what every
//! guest wants on top: `print!`/`println!` on the hypercall console, a panic
//! handler that reports and shuts the domain down, and small helpers for
//! scenario guests that check their own expectations.
#![no_std]

extern crate alloc;

pub mod checksum;
pub mod console;
pub mod cpu_share;
pub mod drivers;
pub mod fs;
pub mod fuzz;
pub mod interrupts;
pub mod memory;
pub mod scenario;
pub mod shell;
pub mod threads;
pub mod timer;
pub mod traps;

pub use shared_abi::guest as hv;

/// Reports the panic on the early console (which needs nothing else to
/// work) and ends the domain with code 101.
#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    use core::fmt::Write;
    let mut line = console::EarlyLine::new();
    let _ = writeln!(line, "panic: {info}");
    line.send();
    hv::shutdown(101)
}
