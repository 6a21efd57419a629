//! Scenario guest: the heap is demand-paged by the guest's own page-fault
//! handler. Allocates and fills 2 MiB, checks every word, and checks that
//! its handler (not the hypervisor) mapped the pages.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use bootloader_api::{BootInfo, entry_point};
use guest_kernel::memory::demand;
use guest_kernel::{check, println, scenario};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_memory(boot_info, None);
    let words = 256 * 1024;
    let mut data: Vec<u64> = Vec::with_capacity(words);
    for index in 0..words as u64 {
        data.push(index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }
    let intact = data
        .iter()
        .enumerate()
        .all(|(i, w)| *w == (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    check!(intact, "heap contents changed");
    let faults = demand::faults_served();
    println!("2 MiB on the heap, {faults} pages mapped on demand by the guest's fault handler");
    check!(
        faults >= 512,
        "expected at least 512 demand faults, saw {faults}"
    );
    drop(data);
    scenario::done()
}
