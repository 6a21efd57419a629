//! Bench guest: measures, in CPU cycles (rdtsc, median of many samples),
//! what shadow paging costs a guest, and the baselines to compare with.
//! Prints one `bench <metric> <median> <samples>` line per figure; `cargo
//! xtask bench` turns them into a table and `target/bench.json`. Needs the
//! hypervisor's `hv_bench` option for the bare-fault baseline.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use bootloader_api::{BootInfo, entry_point};
use guest_kernel::memory::frames;
use guest_kernel::memory::paging::{self, PageFlags, PageSize};
use guest_kernel::{hv, println, scenario};
use shared_abi::bench::FAULT_PROBE_ADDRESS;
use shared_abi::hypercall::FlushScope;
use shared_abi::trap::ExceptionFrame;

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const SAMPLES: usize = 2000;
/// Pages mapped in the guest's tables but never shadowed before a touch.
const HIDDEN: u64 = 0x5800_0000_0000;
const HIDDEN_PAGES: u64 = 500;
/// Pages never mapped: every touch is reflected to the guest.
const REFLECTED: u64 = 0x5900_0000_0000;

fn rdtsc() -> u64 {
    // SAFETY: rdtsc is allowed in ring 3 and only reads the counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Reads `addr`; a fault on it resumes at the instruction after the read
/// (its address is in rcx), whoever handles it.
fn touch(addr: u64) {
    // SAFETY: the read may fault; both the hypervisor's probe and the
    // guest's handler resume at label 2, whose address is in rcx.
    unsafe {
        core::arch::asm!(
            "lea rcx, [rip + 2f]",
            "mov rax, [{addr}]",
            "2:",
            addr = in(reg) addr,
            out("rax") _,
            out("rcx") _,
        );
    }
}

fn timed(f: impl FnOnce()) -> u64 {
    let start = rdtsc();
    f();
    rdtsc().wrapping_sub(start)
}

fn report(metric: &str, mut samples: Vec<u64>) {
    samples.sort_unstable();
    let median = samples[samples.len() / 2];
    println!("bench {metric} {median} {}", samples.len());
}

/// Reflected faults resume at the landing address in rcx.
fn skip_reflected(frame: &mut ExceptionFrame) -> bool {
    if (REFLECTED..REFLECTED + 0x1000).contains(&frame.fault_address) {
        frame.rip = frame.rcx;
        return true;
    }
    false
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_memory(boot_info, Some(skip_reflected));
    let mut samples = Vec::with_capacity(SAMPLES);

    samples.extend((0..SAMPLES).map(|_| {
        timed(|| {
            let _ = hv::abi_version();
        })
    }));
    report("null_hypercall", core::mem::take(&mut samples));

    samples.extend((0..SAMPLES).map(|_| timed(|| touch(FAULT_PROBE_ADDRESS))));
    report("bare_fault", core::mem::take(&mut samples));

    let root = paging::current_root();
    let frame = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    for page in 0..HIDDEN_PAGES {
        let virt = HIDDEN + page * 4096;
        if paging::map(root, virt, frame, PageSize::Size4K, PageFlags::NO_EXECUTE).is_err() {
            scenario::fail(format_args!("map {virt:#x}"));
        }
    }
    samples.reserve(SAMPLES * 2);
    while samples.len() < SAMPLES * 2 {
        hv::mmu_flush(FlushScope::Current);
        // Warm the code and stack shadows again before timing.
        touch(HIDDEN);
        for page in 1..HIDDEN_PAGES {
            let sample = timed(|| touch(HIDDEN + page * 4096));
            samples.push(sample);
        }
    }
    report("hidden_fault", core::mem::take(&mut samples));

    samples.extend((0..SAMPLES).map(|_| timed(|| touch(REFLECTED))));
    report("reflected_fault", core::mem::take(&mut samples));

    let other = paging::clone_address_space(root)
        .unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    for _ in 0..SAMPLES / 2 {
        samples.push(timed(|| {
            let _ = hv::mmu_set_base(other);
        }));
        samples.push(timed(|| {
            let _ = hv::mmu_set_base(root);
        }));
    }
    report("switch_warm", core::mem::take(&mut samples));

    // More roots than the hypervisor caches: every switch misses.
    let roots: Vec<u64> = (0..6)
        .filter_map(|_| paging::clone_address_space(root))
        .collect();
    for index in 0..SAMPLES {
        let next = roots[index % roots.len()];
        samples.push(timed(|| {
            let _ = hv::mmu_set_base(next);
        }));
    }
    report("switch_cold", core::mem::take(&mut samples));
    let _ = hv::mmu_set_base(root);
    scenario::done()
}
