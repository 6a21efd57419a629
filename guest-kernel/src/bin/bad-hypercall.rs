//! Hostile scenario guest: calls the hypervisor with arguments it must
//! refuse, and checks each answer. `unknown` probes numbers no call has;
//! `pointers` passes null, hypervisor, out-of-memory, read-only and
//! overflowing pointers and lengths; `invalidate-hypervisor` invalidates
//! every page of the hypervisor's image window and of the start of its
//! direct map, and non-canonical addresses (once enough to crash the whole
//! machine); `multicall` passes bad batch arrays (null, hypervisor,
//! read-only, misaligned, count 0, too large or wrapping, an array running
//! into an unmapped page) and batches holding calls that may not be batched
//! (multicall itself, yield, shutdown, unknown numbers). Every case must
//! return a status and leave the guest running.
#![no_std]
#![no_main]

use bootloader_api::config::{BootloaderConfig, Mapping};
use bootloader_api::{BootInfo, entry_point};
use guest_kernel::memory::paging::{self, PageFlags, PageSize};
use guest_kernel::memory::{frames, phys_to_virt};
use guest_kernel::{check, hv, println, scenario};
use shared_abi::hypercall::request::{
    AbiVersion, ConsoleWrite, EventStatus, MmuGetBase, MmuInvalidatePage, Multicall,
    StartInfo as Info,
};
use shared_abi::hypercall::{CONSOLE_WRITE_MAX, Request};
use shared_abi::multicall::{MULTICALL_MAX, MulticallEntry};
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

/// Issues `request` as [`call`] does: `rax` as it came back, undecoded.
fn send<R: Request>(request: R) -> i64 {
    call(R::CALL as u64, request.to_args())
}

fn expect(what: &str, request: impl Request, status: Status) {
    let got = send(request);
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
    expect(
        "console null",
        ConsoleWrite { ptr: 0, len },
        Status::BadAddress,
    );
    expect(
        "console hypervisor",
        ConsoleWrite {
            ptr: hypervisor,
            len,
        },
        Status::BadAddress,
    );
    expect(
        "console direct map",
        ConsoleWrite {
            ptr: direct_map,
            len,
        },
        Status::BadAddress,
    );
    expect(
        "console unmapped",
        ConsoleWrite { ptr: beyond, len },
        Status::BadAddress,
    );
    expect(
        "console non-canonical",
        ConsoleWrite {
            ptr: 0x8000_0000_0000_0000,
            len,
        },
        Status::BadAddress,
    );
    let message = b"ok";
    let ptr = message.as_ptr() as u64;
    expect(
        "console wrapping length",
        ConsoleWrite {
            ptr,
            len: u64::MAX - 1,
        },
        Status::InvalidArgument,
    );
    expect(
        "console oversized length",
        ConsoleWrite {
            ptr,
            len: CONSOLE_WRITE_MAX + 1,
        },
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
        ConsoleWrite { ptr: last, len: 64 },
        Status::BadAddress,
    );
    let size = core::mem::size_of::<StartInfo>() as u64;
    expect(
        "start_info null",
        Info { ptr: 0, len: size },
        Status::BadAddress,
    );
    expect(
        "start_info hypervisor",
        Info {
            ptr: hypervisor,
            len: size,
        },
        Status::BadAddress,
    );
    expect(
        "start_info short buffer",
        Info {
            ptr: 0x1000,
            len: StartInfo::MIN_LEN as u64 - 1,
        },
        Status::BufferTooSmall,
    );
    // Code pages are read-only: the hypervisor must not write through them.
    let code = main as *const () as u64;
    expect(
        "start_info into code",
        Info {
            ptr: code,
            len: size,
        },
        Status::BadAddress,
    );
    let written = send(ConsoleWrite { ptr, len: 0 });
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
        let got = send(MmuInvalidatePage { address });
        check!(got == 0, "invalidate {address:#x}: got {got}");
        calls += 1;
    }
    hv::yield_now();
    println!("{calls} hypervisor pages invalidated; still running");
}

/// Where `multicall` maps its pages: a writable page followed by an
/// unmapped one, and a read-only page.
const BATCH_PAGE: u64 = 0x5a00_0000_0000;
const READ_ONLY_PAGE: u64 = 0x5a00_0010_0000;
/// What an entry's result holds until the hypervisor writes it.
const UNTOUCHED: i64 = 0x5eed;

fn entry(request: impl Request) -> MulticallEntry {
    MulticallEntry {
        result: UNTOUCHED,
        ..MulticallEntry::new(request)
    }
}

/// Runs `entries` as one batch and returns the call's answer.
fn batch(entries: &mut [MulticallEntry]) -> i64 {
    send(Multicall {
        ptr: entries.as_mut_ptr() as u64,
        count: entries.len() as u64,
    })
}

/// The results of `entries`.
fn results<const N: usize>(entries: &[MulticallEntry; N]) -> [i64; N] {
    core::array::from_fn(|index| entries[index].result)
}

fn multicall(boot_info: &BootInfo) {
    guest_kernel::memory::init(boot_info);
    let version = shared_abi::ABI_VERSION as i64;
    let root = paging::current_root();
    let writable = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("frame")));
    let read_only = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("frame")));
    let data = PageFlags::WRITABLE | PageFlags::NO_EXECUTE;
    check!(
        paging::map(root, BATCH_PAGE, writable, PageSize::Size4K, data).is_ok()
            && paging::map(
                root,
                READ_ONLY_PAGE,
                read_only,
                PageSize::Size4K,
                PageFlags::NO_EXECUTE
            )
            .is_ok(),
        "map the batch pages"
    );
    let entry_size = core::mem::size_of::<MulticallEntry>() as u64;
    let null_call = entry(AbiVersion);
    // The read-only page holds good entries (written through the
    // physical-memory mapping): only its protection is wrong.
    // SAFETY: `read_only` is a fresh frame of this guest, a page long.
    unsafe {
        phys_to_virt(read_only)
            .cast::<MulticallEntry>()
            .write(null_call)
    };
    let arrays = [
        ("multicall null", 0, 1, Status::BadAddress),
        (
            "multicall hypervisor",
            0xffff_ffff_8010_0000,
            1,
            Status::BadAddress,
        ),
        (
            "multicall direct map",
            0xffff_8000_0010_0000,
            1,
            Status::BadAddress,
        ),
        (
            "multicall non-canonical",
            0x8000_0000_0000_0000,
            1,
            Status::BadAddress,
        ),
        (
            "multicall unmapped",
            BATCH_PAGE + 4096,
            1,
            Status::BadAddress,
        ),
        ("multicall read-only", READ_ONLY_PAGE, 1, Status::BadAddress),
        ("multicall count 0", BATCH_PAGE, 0, Status::InvalidArgument),
        (
            "multicall count too large",
            BATCH_PAGE,
            MULTICALL_MAX + 1,
            Status::InvalidArgument,
        ),
        (
            "multicall count huge",
            BATCH_PAGE,
            u64::MAX,
            Status::InvalidArgument,
        ),
        (
            "multicall count wrapping",
            u64::MAX - 63,
            2,
            Status::InvalidArgument,
        ),
        (
            "multicall misaligned",
            BATCH_PAGE + 8,
            1,
            Status::InvalidArgument,
        ),
    ];
    for (what, ptr, count, status) in arrays {
        expect(what, Multicall { ptr, count }, status);
    }

    // A good batch; a call that fails (a port never bound) does not stop it.
    let mut calls = [
        entry(AbiVersion),
        entry(EventStatus { port: 4000 }),
        entry(MmuInvalidatePage {
            address: 0xffff_ffff_8010_0000,
        }),
        entry(MmuGetBase),
    ];
    let got = batch(&mut calls);
    let expected = [version, Status::BadPort as i64, 0, root as i64];
    check!(
        got == 4 && results(&calls) == expected,
        "good batch: ran {got}, results {:?}",
        results(&calls)
    );
    println!("multicall good batch: 4 ran, a failing call did not stop it");

    // Calls that may not be batched stop the batch with a status in their
    // result; the entries after them are not touched.
    let refused = [
        (Hypercall::Multicall as u64, Status::InvalidArgument),
        (Hypercall::ConsoleWrite as u64, Status::InvalidArgument),
        (Hypercall::Watchdog as u64, Status::InvalidArgument),
        (Hypercall::Yield as u64, Status::InvalidArgument),
        (Hypercall::Shutdown as u64, Status::InvalidArgument),
        (Hypercall::Block as u64, Status::InvalidArgument),
        (Hypercall::SetTimer as u64, Status::InvalidArgument),
        (Hypercall::Iret as u64, Status::InvalidArgument),
        (Hypercall::ALL.len() as u64, Status::UnknownHypercall),
        (u64::MAX, Status::UnknownHypercall),
    ];
    for (number, status) in refused {
        let mut calls = [null_call, null_call, null_call];
        calls[1].number = number;
        // Multicall in a batch names the batch itself: refused all the same.
        calls[1].args = [calls.as_ptr() as u64, 3, 0, 0, 0];
        let got = batch(&mut calls);
        check!(
            got == 1 && results(&calls) == [version, status as i64, UNTOUCHED],
            "batched call {number:#x}: ran {got}, results {:?}",
            results(&calls)
        );
    }
    println!("multicall refused calls stop the batch; still running");

    // An array that runs into an unmapped page: the entries before it run.
    let tail = BATCH_PAGE + 4096 - 2 * entry_size;
    let entries = tail as *mut MulticallEntry;
    for index in 0..2 {
        // SAFETY: the last two entries of the writable batch page.
        unsafe { entries.add(index).write(null_call) };
    }
    let got = send(Multicall {
        ptr: tail,
        count: 5,
    });
    // SAFETY: as above.
    let ran = unsafe { [(*entries).result, (*entries.add(1)).result] };
    check!(
        got == 2 && ran == [version, version],
        "array into an unmapped page: ran {got}, results {ran:?}"
    );
    println!("multicall array into an unmapped page: 2 of 5 ran");

    // The safe wrapper refuses calls that take pointers.
    let mut calls = [entry(Info {
        ptr: 0x1000,
        len: 256,
    })];
    check!(
        hv::multicall(&mut calls) == Err(Status::InvalidArgument) && calls[0].result == UNTOUCHED,
        "the wrapper let a pointer call through"
    );
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    let info = scenario::start_info();
    match info.args() {
        "unknown" => unknown(),
        "pointers" => pointers(boot_info),
        "invalidate-hypervisor" => invalidate_hypervisor(),
        "multicall" => multicall(boot_info),
        other => scenario::fail(format_args!("unknown case '{other}'")),
    }
    scenario::done()
}
