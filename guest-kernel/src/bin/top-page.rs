//! Hostile scenario guest: maps the last page of the lower half
//! (`0x7fff_ffff_f000`) in its own tables, puts a `syscall` in its last two
//! bytes and jumps there. Were the page mapped, the `syscall` would return
//! to the first non-canonical address, `0x8000_0000_0000`, and that return
//! would fault inside the hypervisor. The hypervisor never maps that page:
//! the jump is an instruction-fetch page fault, and this guest, with no
//! handler for it, is stopped.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::memory::paging::{self, PageFlags, PageSize};
use guest_kernel::memory::{frames, phys_to_virt};
use guest_kernel::{check, println, scenario};
use shared_abi::Hypercall;

entry_point!(main, config = &scenario::MEMORY_CONFIG);

/// The last page of the lower half.
const TOP_PAGE: u64 = 0x7fff_ffff_f000;

fn main(boot_info: &'static mut BootInfo) -> ! {
    // Memory only: no page-fault handler, so the fault stops the domain.
    guest_kernel::memory::init(boot_info);
    let frame = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    // SAFETY: the frame is this guest's, fresh, mapped at the physical
    // offset; its last two bytes become `syscall`.
    unsafe {
        phys_to_virt(frame)
            .add(0xffe)
            .cast::<[u8; 2]>()
            .write([0x0f, 0x05])
    };
    check!(
        paging::map(
            paging::current_root(),
            TOP_PAGE,
            frame,
            PageSize::Size4K,
            PageFlags::empty()
        )
        .is_ok(),
        "map the top page"
    );
    println!("jumping to the syscall at {:#x}", TOP_PAGE + 0xffe);
    // SAFETY: deliberately not safe: the hypervisor must refuse to map the
    // page, and stop this domain on the fetch.
    unsafe {
        core::arch::asm!(
            "jmp {target}",
            target = in(reg) TOP_PAGE + 0xffe,
            in("rax") Hypercall::AbiVersion as u64,
            options(noreturn)
        )
    };
}
