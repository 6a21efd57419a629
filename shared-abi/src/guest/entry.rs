//! The guest's entry point: [`entry_point!`](crate::entry_point) wraps
//! `bootloader_api::entry_point!` with [`BOOT_CONFIG`] (all of
//! guest-physical memory mapped, which the runtime needs) and adds a panic
//! handler that reports the panic on the early console and ends the domain
//! with [`PANIC_EXIT_CODE`].
//!
//! The hypervisor is the guest's bootloader: it reads the
//! `.bootloader-config` section the macro emits, maps what it asks for,
//! and enters the function named in the macro with the `BootInfo`, in ring 3
//! with virtual interrupts masked. Nothing is set up yet: call
//! [`init`](super::init) first.

use core::fmt::Write;

use bootloader_api::BootloaderConfig;
use bootloader_api::config::Mapping;

use super::print::EarlyLine;

/// The code a guest ends with after a panic (through [`report_panic`]).
pub const PANIC_EXIT_CODE: u64 = 101;

/// Bootloader config for guests using the runtime: the defaults plus the
/// physical-memory mapping, through which [`memory`](super::memory) reaches
/// page tables and frames.
pub const BOOT_CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    config.mappings.physical_memory = Some(Mapping::Dynamic);
    config
};

/// Reports `info` as `panic: ...` on the early console (which needs nothing
/// else to work) and ends the domain with [`PANIC_EXIT_CODE`]. The panic
/// handler of [`entry_point!`](crate::entry_point) calls it; a guest with
/// its own panic handler may too.
pub fn report_panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut line = EarlyLine::new();
    let _ = writeln!(line, "panic: {info}");
    line.send();
    super::shutdown(PANIC_EXIT_CODE)
}

/// Declares the guest's entry point (feature `guest`).
///
/// `entry_point!(main)` makes `main`, a `fn(&'static mut BootInfo) -> !`,
/// the function the hypervisor enters, with
/// [`BOOT_CONFIG`](crate::guest::entry::BOOT_CONFIG) as the bootloader
/// config, and defines the panic handler
/// ([`report_panic`](crate::guest::entry::report_panic)). Options, in this
/// order, both optional:
///
/// - `config = &CONFIG`: another `bootloader_api::BootloaderConfig` (it
///   must map physical memory for the runtime's memory helpers to work);
/// - `panic_handler = false`: no panic handler, for guests that define
///   their own `#[panic_handler]`.
///
/// Use it once, in the binary crate. The example is not compiled as a
/// test (it defines `_start` and a panic handler, which a host test binary
/// cannot have); the README's guest (`guest-kernel/src/bin/readme-guest.rs`)
/// is built and booted by the `readme-guest` scenario.
///
/// ```ignore
/// #![no_std]
/// #![no_main]
///
/// use shared_abi::guest::{self as hv, BootInfo};
///
/// shared_abi::entry_point!(main);
///
/// fn main(boot_info: &'static mut BootInfo) -> ! {
///     hv::init(boot_info).expect("runtime");
///     shared_abi::println!("hello");
///     hv::exit(0)
/// }
/// ```
#[macro_export]
macro_rules! entry_point {
    ($main:path) => {
        $crate::entry_point!($main, config = &$crate::guest::entry::BOOT_CONFIG);
    };
    ($main:path, panic_handler = false) => {
        $crate::entry_point!(
            $main,
            config = &$crate::guest::entry::BOOT_CONFIG,
            panic_handler = false
        );
    };
    ($main:path, config = $config:expr) => {
        $crate::entry_point!($main, config = $config, panic_handler = false);
        #[panic_handler]
        fn __guest_panic(info: &::core::panic::PanicInfo<'_>) -> ! {
            $crate::guest::entry::report_panic(info)
        }
    };
    ($main:path, config = $config:expr, panic_handler = false) => {
        $crate::guest::entry::__bootloader_api::entry_point!($main, config = $config);
    };
}

#[doc(hidden)]
pub use bootloader_api as __bootloader_api;
