//! Hostile scenario guest: page-table entries that name memory the guest
//! does not own never become mappings. Each attempt must reach the guest's
//! fault handler, and a mapping of a low frame number must land in the
//! guest's own memory, never the hypervisor's.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::memory::paging::{self, PageFlags, PageSize};
use guest_kernel::memory::{frames, phys_to_virt};
use guest_kernel::{check, hv, println, scenario};
use shared_abi::Status;
use shared_abi::hypercall::request::ConsoleWrite;
use shared_abi::trap::ExceptionFrame;

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const OUTSIDE: u64 = 0x6000_0000_0000;
const LOW: u64 = OUTSIDE + 0x1000;
const HYPERVISOR: u64 = 0xffff_ffff_8010_0000;
static LAST_ERROR: AtomicU64 = AtomicU64::new(u64::MAX);
static LAST_ADDRESS: AtomicU64 = AtomicU64::new(0);

/// Records the fault and resumes at the landing address the probe left in rax.
fn record(frame: &mut ExceptionFrame) -> bool {
    LAST_ERROR.store(frame.error_code, Ordering::Relaxed);
    LAST_ADDRESS.store(frame.fault_address, Ordering::Relaxed);
    frame.rip = frame.rax;
    true
}

/// Reads `addr`; returns `None` if the read faulted (and was skipped).
fn probe(addr: u64) -> Option<u64> {
    LAST_ERROR.store(u64::MAX, Ordering::Relaxed);
    let value: u64;
    // SAFETY: a fault here is caught by `record`, which resumes at label 2
    // (whose address is in rax).
    unsafe {
        core::arch::asm!(
            "lea rax, [rip + 2f]",
            "xor {value}, {value}",
            "mov {value}, [{addr}]",
            "2:",
            addr = in(reg) addr,
            value = out(reg) value,
            out("rax") _,
        );
    }
    (LAST_ERROR.load(Ordering::Relaxed) == u64::MAX).then_some(value)
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_memory(boot_info, Some(record));
    let info = scenario::start_info();
    let root = paging::current_root();
    let data = PageFlags::WRITABLE | PageFlags::NO_EXECUTE;

    // 1. A frame beyond the end of the domain's memory.
    let beyond = info.memory_bytes + 0x10_0000;
    check!(
        paging::map(root, OUTSIDE, beyond, PageSize::Size4K, data).is_ok(),
        "map"
    );
    check!(
        probe(OUTSIDE).is_none(),
        "a frame outside guest memory was readable"
    );
    let error = LAST_ERROR.load(Ordering::Relaxed);
    check!(
        error & 0b1000 != 0,
        "the fault names a bad frame (reserved bit): error {error:#x}"
    );
    check!(
        LAST_ADDRESS.load(Ordering::Relaxed) == OUTSIDE,
        "the fault address is reported"
    );
    let write = ConsoleWrite {
        ptr: OUTSIDE,
        len: 8,
    };
    // SAFETY: the hypervisor validates the pointer; this must fail.
    let answer = unsafe { hv::call(write) };
    check!(
        answer == Err(Status::BadAddress),
        "a hypercall through that mapping returned {answer:?}"
    );
    println!("frame beyond memory: refused (error {error:#x})");

    // 2. A huge frame number (what a machine address of the hypervisor might be).
    check!(
        paging::remap(root, OUTSIDE, 0x000f_ffff_ffff_f000, data).is_ok(),
        "remap"
    );
    check!(probe(OUTSIDE).is_none(), "a huge frame number was readable");
    println!("huge frame number: refused");

    // 3. A low frame number lands in the guest's own memory.
    let low = 0x10_0000;
    check!(
        paging::map(root, LOW, low, PageSize::Size4K, data).is_ok(),
        "map low"
    );
    // SAFETY: LOW now maps guest-physical 1 MiB, which is this guest's.
    unsafe { (LOW as *mut u64).write_volatile(0x5a5a_5a5a) };
    // SAFETY: the same frame through the physical-memory mapping.
    let through_phys = unsafe { phys_to_virt(low).cast::<u64>().read_volatile() };
    check!(
        through_phys == 0x5a5a_5a5a,
        "guest-physical 1 MiB is the guest's own frame"
    );
    println!("low frame number: the guest's own memory");

    // 4. The hypervisor's own addresses.
    check!(
        probe(HYPERVISOR).is_none(),
        "the hypervisor image was readable"
    );
    check!(
        probe(0xffff_8000_0000_0000).is_none(),
        "the direct map was readable"
    );
    println!("hypervisor addresses: not mapped for the guest");
    let _ = frames::in_use();
    scenario::done()
}
