//! Scenario guest: maps a huge sparse region (8 GiB of 2 MiB pages, all
//! onto the same 2 MiB of its memory) and touches every page. The
//! hypervisor's shadow memory for this domain is bounded, so it recycles;
//! the guest must see correct data throughout and other guests must not
//! notice.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::memory::paging::{self, PageFlags, PageSize};
use guest_kernel::memory::phys_to_virt;
use guest_kernel::{check, hv, println, scenario};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const REGION: u64 = 0x7000_0000_0000;
const PAGES: u64 = 4096;
const LARGE: u64 = 2 << 20;

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_memory(boot_info, None);
    let root = paging::current_root();
    // Guest-physical 4 MiB..6 MiB, filled with a pattern through the
    // physical-memory mapping.
    let backing = 4 << 20;
    for word in 0..(LARGE / 8) {
        // SAFETY: the range is inside this guest's memory, mapped writable.
        unsafe {
            phys_to_virt(backing + word * 8)
                .cast::<u64>()
                .write_volatile(word ^ 0xabcd)
        };
    }
    for page in 0..PAGES {
        let virt = REGION + page * LARGE;
        check!(
            paging::map(root, virt, backing, PageSize::Size2M, PageFlags::NO_EXECUTE).is_ok(),
            "map page {page}"
        );
    }
    for pass in 0..2 {
        for page in 0..PAGES {
            let word = (page * 37 + pass) % (LARGE / 8);
            // SAFETY: every page of the region is mapped readable.
            let value =
                unsafe { ((REGION + page * LARGE + word * 8) as *const u64).read_volatile() };
            check!(
                value == word ^ 0xabcd,
                "pass {pass} page {page}: read {value:#x}"
            );
        }
        hv::yield_now();
    }
    println!(
        "touched {PAGES} large pages ({} GiB) twice, all data correct",
        (PAGES * LARGE) >> 30
    );
    scenario::done()
}
