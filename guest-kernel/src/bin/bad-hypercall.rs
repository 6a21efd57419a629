//! Hostile scenario guest: calls the hypervisor with arguments it must
//! refuse, and checks each answer. `unknown` probes numbers no call has;
//! `pointers` passes null, hypervisor, out-of-memory, read-only and
//! overflowing pointers and lengths; `invalidate-hypervisor` invalidates
//! every page of the hypervisor's image window and of the start of its
//! direct map, and non-canonical addresses (once enough to crash the whole
//! machine). Every case must return a status and leave the guest running.
#![no_std]
#![no_main]

use bootloader_api::config::{BootloaderConfig, Mapping};
use bootloader_api::{BootInfo, entry_point};
use guest_kernel::{check, hv, println, scenario};
use shared_abi::hypercall::CONSOLE_WRITE_MAX;
use shared_abi::start_info::StartInfo;
use shared_abi::{Hypercall, Status};

/// Asks for the physical-memory mapping, to aim a range past its end.
static CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    config.mappings.physical_memory = Some(Mapping::Dynamic);
    config
};

entry_point!(main, config = &CONFIG);

fn call(number: u64, args: [u64; 5]) -> i64 {
    // SAFETY: every pointer passed here is one the hypervisor must refuse
    // or one into this guest's own stack buffers.
    unsafe { hv::hypercall_number(number, args) }
}

fn expect(what: &str, number: Hypercall, args: [u64; 5], status: Status) {
    let got = call(number as u64, args);
    check!(
        got == status as i64,
        "{what}: expected {}, got {got}",
        status.name()
    );
    println!("{what}: {} as expected", status.name());
}

fn unknown() {
    let first_unknown = Hypercall::ALL.len() as u64;
    for number in [first_unknown, 63, 1000, u64::MAX, 1 << 63] {
        let got = call(number, [1, 2, 3, 4, 5]);
        check!(
            got == Status::UnknownHypercall as i64,
            "hypercall {number:#x}: expected UNKNOWN_HYPERCALL, got {got}"
        );
    }
    println!("unknown numbers refused");
}

fn pointers(boot_info: &BootInfo) {
    let hypervisor = 0xffff_ffff_8010_0000u64;
    let direct_map = 0xffff_8000_0010_0000u64;
    let beyond = 0x0000_7000_0000_0000u64;
    let len = 16;
    use Hypercall::{ConsoleWrite, StartInfo as Info};
    expect(
        "console null",
        ConsoleWrite,
        [0, len, 0, 0, 0],
        Status::BadAddress,
    );
    expect(
        "console hypervisor",
        ConsoleWrite,
        [hypervisor, len, 0, 0, 0],
        Status::BadAddress,
    );
    expect(
        "console direct map",
        ConsoleWrite,
        [direct_map, len, 0, 0, 0],
        Status::BadAddress,
    );
    expect(
        "console unmapped",
        ConsoleWrite,
        [beyond, len, 0, 0, 0],
        Status::BadAddress,
    );
    expect(
        "console non-canonical",
        ConsoleWrite,
        [0x8000_0000_0000_0000, len, 0, 0, 0],
        Status::BadAddress,
    );
    let message = b"ok";
    let ptr = message.as_ptr() as u64;
    expect(
        "console wrapping length",
        ConsoleWrite,
        [ptr, u64::MAX - 1, 0, 0, 0],
        Status::InvalidArgument,
    );
    expect(
        "console oversized length",
        ConsoleWrite,
        [ptr, CONSOLE_WRITE_MAX + 1, 0, 0, 0],
        Status::InvalidArgument,
    );
    // A range that starts in guest memory and runs off the end of the
    // mapped physical-memory window.
    let Some(offset) = boot_info.physical_memory_offset.into_option() else {
        scenario::fail(format_args!("no physical-memory mapping in BootInfo"));
    };
    let info = scenario::start_info();
    let last = offset + info.memory_bytes - 8;
    expect(
        "console crossing the end",
        ConsoleWrite,
        [last, 64, 0, 0, 0],
        Status::BadAddress,
    );
    let size = core::mem::size_of::<StartInfo>() as u64;
    expect(
        "start_info null",
        Info,
        [0, size, 0, 0, 0],
        Status::BadAddress,
    );
    expect(
        "start_info hypervisor",
        Info,
        [hypervisor, size, 0, 0, 0],
        Status::BadAddress,
    );
    expect(
        "start_info short buffer",
        Info,
        [0x1000, size - 1, 0, 0, 0],
        Status::BufferTooSmall,
    );
    // Code pages are read-only: the hypervisor must not write through them.
    let code = main as *const () as u64;
    expect(
        "start_info into code",
        Info,
        [code, size, 0, 0, 0],
        Status::BadAddress,
    );
    let written = call(ConsoleWrite as u64, [ptr, 0, 0, 0, 0]);
    check!(written == 0, "console zero length: got {written}");
}

/// `mmu_invalidate_page` on addresses that name the hypervisor's own
/// translations: it must change nothing and return success, as `invlpg`
/// of an address the guest does not map would.
fn invalidate_hypervisor() {
    let kernel_window = (0xffff_ffff_8000_0000u64..0xffff_ffff_8200_0000).step_by(4096);
    let direct_map = (0xffff_8000_0000_0000u64..0xffff_8000_0400_0000).step_by(4096);
    let odd = [
        0x0000_8000_0000_0000,
        0x8000_0000_0000_0000,
        u64::MAX,
        0xffff_ffff_ffff_f000,
    ];
    let mut calls = 0u64;
    for address in kernel_window.chain(direct_map).chain(odd) {
        let got = call(Hypercall::MmuInvalidatePage as u64, [address, 0, 0, 0, 0]);
        check!(got == 0, "invalidate {address:#x}: got {got}");
        calls += 1;
    }
    hv::yield_now();
    println!("{calls} hypervisor pages invalidated; still running");
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    let info = scenario::start_info();
    match info.args() {
        "unknown" => unknown(),
        "pointers" => pointers(boot_info),
        "invalidate-hypervisor" => invalidate_hypervisor(),
        other => scenario::fail(format_args!("unknown case '{other}'")),
    }
    scenario::done()
}
