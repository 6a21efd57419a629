//! Scenario guest: greets with its name, domain and ABI version, then ends.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::{check, hv, println, scenario};

entry_point!(main);

fn main(_boot_info: &'static mut BootInfo) -> ! {
    let info = scenario::start_info();
    let version = hv::abi_version();
    println!(
        "hello from {} (domain {}, ABI {}.{})",
        info.name(),
        info.domain_id,
        version >> 16,
        version & 0xffff
    );
    check!(
        version == shared_abi::ABI_VERSION,
        "ABI version {version:#x}"
    );
    scenario::done()
}
