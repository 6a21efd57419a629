//! Scenario guest: copy-on-write inside the guest. Two virtual pages share
//! one frame read-only; the first write to either takes a protection fault
//! that the guest's handler resolves by copying the frame.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::memory::paging::{self, PageFlags, PageSize};
use guest_kernel::memory::{frames, phys_to_virt};
use guest_kernel::{check, println, scenario};
use shared_abi::trap::ExceptionFrame;

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const ORIGINAL: u64 = 0x3000_0000_0000;
const COPY: u64 = ORIGINAL + 0x1000;
static COPIES: AtomicU64 = AtomicU64::new(0);

/// Resolves a write to a shared read-only page by giving the writer its own copy.
fn copy_on_write(frame: &mut ExceptionFrame) -> bool {
    let page = frame.fault_address & !0xfff;
    let protection_write = frame.error_code & 0b11 == 0b11;
    if !protection_write || (page != ORIGINAL && page != COPY) {
        return false;
    }
    let root = paging::current_root();
    let (Some(shared), Some(private)) = (paging::translate(root, page), frames::allocate()) else {
        return false;
    };
    // SAFETY: both frames are this guest's, mapped at the physical offset.
    unsafe { core::ptr::copy_nonoverlapping(phys_to_virt(shared), phys_to_virt(private), 4096) };
    let flags = PageFlags::WRITABLE | PageFlags::NO_EXECUTE;
    if paging::remap(root, page, private, flags).is_err() {
        return false;
    }
    COPIES.fetch_add(1, Ordering::Relaxed);
    true
}

fn read(addr: u64) -> u64 {
    // SAFETY: the scenario maps `addr` before reading it.
    unsafe { (addr as *const u64).read_volatile() }
}

fn write(addr: u64, value: u64) {
    // SAFETY: as for read; a write to a shared page faults and is resolved.
    unsafe { (addr as *mut u64).write_volatile(value) }
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_memory(boot_info, Some(copy_on_write));
    let root = paging::current_root();
    let frame = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    let data = PageFlags::WRITABLE | PageFlags::NO_EXECUTE;
    check!(
        paging::map(root, ORIGINAL, frame, PageSize::Size4K, data).is_ok(),
        "map original"
    );
    write(ORIGINAL, 0x1111);
    // "Fork": share the frame read-only at both addresses.
    check!(
        paging::remap(root, ORIGINAL, frame, PageFlags::NO_EXECUTE).is_ok(),
        "share original"
    );
    check!(
        paging::map(root, COPY, frame, PageSize::Size4K, PageFlags::NO_EXECUTE).is_ok(),
        "map copy"
    );
    check!(read(COPY) == 0x1111, "the copy sees the original data");
    write(COPY, 0x2222);
    check!(
        COPIES.load(Ordering::Relaxed) == 1,
        "one copy after writing the copy"
    );
    check!(read(ORIGINAL) == 0x1111, "the original is unchanged");
    check!(read(COPY) == 0x2222, "the copy has the new data");
    write(ORIGINAL, 0x3333);
    check!(
        COPIES.load(Ordering::Relaxed) == 2,
        "a second copy after writing the original"
    );
    check!(
        read(ORIGINAL) == 0x3333 && read(COPY) == 0x2222,
        "each page keeps its own data"
    );
    // SAFETY: `frame` is mapped at the physical offset.
    let shared = unsafe { phys_to_virt(frame).cast::<u64>().read_volatile() };
    check!(
        shared == 0x1111,
        "the shared frame was never written: {shared:#x}"
    );
    println!("copy-on-write: 2 copies made, shared frame untouched");
    scenario::done()
}
