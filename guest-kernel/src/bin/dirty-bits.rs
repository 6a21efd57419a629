//! Scenario guest: the guest observes accessed and dirty bits in its own
//! page-table entries, set by the hypervisor exactly when the hardware
//! would have set them.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::memory::frames;
use guest_kernel::memory::paging::{self, PageFlags, PageSize};
use guest_kernel::{check, println, scenario};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const PAGE: u64 = 0x5000_0000_0000;

fn bits(root: u64) -> (bool, bool) {
    let flags = paging::entry_flags(root, PAGE).unwrap_or(PageFlags::empty());
    (
        flags.contains(PageFlags::ACCESSED),
        flags.contains(PageFlags::DIRTY),
    )
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_memory(boot_info, None);
    let root = paging::current_root();
    let frame = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    let data = PageFlags::WRITABLE | PageFlags::NO_EXECUTE;
    check!(
        paging::map(root, PAGE, frame, PageSize::Size4K, data).is_ok(),
        "map"
    );
    let page = PAGE as *mut u64;
    for round in 0..3 {
        check!(
            bits(root) == (false, false),
            "round {round}: fresh entry is clean: {:?}",
            bits(root)
        );
        // SAFETY: PAGE is mapped writable.
        let _ = unsafe { page.read_volatile() };
        check!(
            bits(root) == (true, false),
            "round {round}: a read sets only accessed: {:?}",
            bits(root)
        );
        // SAFETY: as above.
        unsafe { page.write_volatile(round) };
        check!(
            bits(root) == (true, true),
            "round {round}: a write sets dirty: {:?}",
            bits(root)
        );
        // SAFETY: as above.
        unsafe { page.write_volatile(round + 1) };
        check!(
            paging::clear_flags(root, PAGE, PageFlags::ACCESSED | PageFlags::DIRTY).is_some(),
            "clear"
        );
    }
    println!("accessed and dirty bits observed over 3 rounds");
    scenario::done()
}
