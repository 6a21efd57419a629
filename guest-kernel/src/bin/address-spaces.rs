//! Scenario guest: two address spaces in one guest, switched thousands of
//! times. The same virtual page maps a different frame in each; every
//! switch checks that the page shows that space's own data.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::memory::frames;
use guest_kernel::memory::paging::{self, PageFlags, PageSize};
use guest_kernel::{check, hv, println, scenario};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const PAGE: u64 = 0x4000_0000_0000;
const SWITCHES: u64 = 5000;

fn counter() -> *mut u64 {
    PAGE as *mut u64
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_memory(boot_info, None);
    let first = paging::current_root();
    let second = paging::clone_address_space(first)
        .unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    let data = PageFlags::WRITABLE | PageFlags::NO_EXECUTE;
    for (root, seed) in [(first, 1_000_000u64), (second, 2_000_000)] {
        let frame = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("no frame")));
        check!(
            paging::map(root, PAGE, frame, PageSize::Size4K, data).is_ok(),
            "map the page"
        );
        check!(hv::mmu_set_base(root).is_ok(), "switch to {root:#x}");
        // SAFETY: PAGE is mapped writable in the current address space.
        unsafe { counter().write_volatile(seed) };
    }
    for round in 0..SWITCHES {
        for (root, seed) in [(first, 1_000_000u64), (second, 2_000_000)] {
            check!(hv::mmu_set_base(root).is_ok(), "switch to {root:#x}");
            check!(hv::mmu_get_base() == root, "the current root is {root:#x}");
            // SAFETY: PAGE is mapped writable in both address spaces.
            let value = unsafe { counter().read_volatile() };
            check!(
                value == seed + round,
                "round {round}: space {root:#x} shows {value}, expected {}",
                seed + round
            );
            // SAFETY: as above.
            unsafe { counter().write_volatile(value + 1) };
        }
    }
    check!(
        hv::mmu_set_base(0x1001).is_err(),
        "a misaligned root is refused"
    );
    check!(
        hv::mmu_set_base(1 << 40).is_err(),
        "a root outside memory is refused"
    );
    check!(hv::mmu_set_base(first).is_ok(), "switch back");
    println!(
        "{} address-space switches, each space kept its own data",
        2 * SWITCHES
    );
    scenario::done()
}
