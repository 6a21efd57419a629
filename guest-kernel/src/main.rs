//! The default guest kernel: greets, shows what its bootloader (the
//! hypervisor) told it, checks its memory, takes turns with the other
//! domains, and shuts down.
#![no_std]
#![no_main]

use bootloader_api::config::{BootloaderConfig, Mapping};
use bootloader_api::info::MemoryRegionKind;
use bootloader_api::{BootInfo, entry_point};
use guest_kernel::{check, hv, println, scenario};

/// Ask for all guest-physical memory to be mapped, as most kernels do.
static CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    config.mappings.physical_memory = Some(Mapping::Dynamic);
    config.kernel_stack_size = 64 * 1024;
    config
};

entry_point!(kernel_main, config = &CONFIG);

fn kernel_main(boot_info: &'static mut BootInfo) -> ! {
    let info = scenario::start_info();
    let version = hv::abi_version();
    println!(
        "Hello from {}! Guest kernel running in ring 3 as domain {} (ABI {}.{}).",
        info.name(),
        info.domain_id,
        version >> 16,
        version & 0xffff
    );
    let usable: u64 = boot_info
        .memory_regions
        .iter()
        .filter(|region| region.kind == MemoryRegionKind::Usable)
        .map(|region| region.end - region.start)
        .sum();
    println!(
        "memory: {} KiB guest-physical, {} KiB usable; stack {} KiB",
        info.memory_bytes / 1024,
        usable / 1024,
        boot_info.kernel_stack_len / 1024
    );
    let Some(offset) = boot_info.physical_memory_offset.into_option() else {
        scenario::fail(format_args!("no physical-memory mapping"));
    };
    // Write a pattern through the physical-memory mapping into the last
    // usable page and read it back.
    let last_page = (offset + info.memory_bytes - 4096) as *mut u64;
    for index in 0..512 {
        // SAFETY: the page is usable guest memory mapped writable at `offset`.
        unsafe {
            last_page
                .add(index)
                .write_volatile(index as u64 * 0x0101_0101)
        };
    }
    // SAFETY: as above.
    let intact =
        (0..512).all(|i| unsafe { last_page.add(i).read_volatile() } == i as u64 * 0x0101_0101);
    check!(intact, "memory pattern did not read back");
    println!("physical memory mapped at {offset:#x}: pattern check passed");
    for turn in 1..=3 {
        println!("turn {turn}: yielding to the other domains");
        hv::yield_now();
    }
    println!("goodbye");
    hv::shutdown(0)
}
