//! The default guest kernel: greets, shows what its bootloader (the
//! hypervisor) told it, brings up its memory management, virtual interrupts
//! and a periodic tick, runs two kernel threads preempted by the tick, then
//! attaches the split console and runs a shell until `shutdown` or end of
//! input.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::interrupts::{self, now_ns};
use guest_kernel::{drivers, hv, println, process, scenario, shell, threads, timer};

entry_point!(kernel_main, config = &scenario::MEMORY_CONFIG);

static WORK: [AtomicU64; 2] = [const { AtomicU64::new(0) }; 2];

/// A kernel thread that computes for 50 ms without ever yielding.
fn worker(index: u64) {
    let until = now_ns() + 50_000_000;
    while now_ns() < until {
        WORK[index as usize].fetch_add(1, Ordering::Relaxed);
    }
}

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
    let usable = hv::memory::usable_bytes(boot_info);
    println!(
        "memory: {} KiB guest-physical, {} KiB usable; page tables at {:#x} (shadowed by the hypervisor)",
        info.memory_bytes / 1024,
        usable / 1024,
        hv::mmu_get_base()
    );
    scenario::init_interrupts(boot_info);
    timer::init();
    threads::init();
    interrupts::enable();
    let ids = [threads::spawn(worker, 0), threads::spawn(worker, 1)];
    while ids
        .iter()
        .any(|id| id.is_some_and(|id| !threads::finished(id)))
    {
        core::hint::spin_loop();
    }
    println!(
        "two kernel threads ran {} and {} iterations, preempted by the tick ({} ticks, {} ms of virtual time)",
        WORK[0].load(Ordering::Relaxed),
        WORK[1].load(Ordering::Relaxed),
        timer::ticks(),
        now_ns() / 1_000_000
    );
    if let Err(status) = drivers::console::init() {
        println!(
            "split console unavailable ({}); staying on the early console",
            status.name()
        );
        scenario::exit(1);
    }
    if let Err(status) = process::init() {
        println!("user processes unavailable ({})", status.name());
    }
    let disk = shell::mount_disk();
    shell::run(info.name(), disk)
}
