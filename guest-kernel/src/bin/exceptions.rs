//! Scenario guest: raises each class of exception a ring 3 kernel can
//! cause and checks that its own handler receives it with the right vector,
//! error code and (for page faults) address, then continues. (Alignment
//! checks are delivered the same way, but QEMU's TCG never raises them, so
//! they are not exercised here.)
#![no_std]
#![no_main]

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::memory::frames;
use guest_kernel::memory::paging::{self, PageFlags, PageSize};
use guest_kernel::{check, hv, println, scenario};
use shared_abi::trap::ExceptionFrame;

entry_point!(main, config = &scenario::MEMORY_CONFIG);

static VECTOR: AtomicU64 = AtomicU64::new(u64::MAX);
static ERROR: AtomicU64 = AtomicU64::new(0);
static ADDRESS: AtomicU64 = AtomicU64::new(0);

const UNMAPPED: u64 = 0x5a00_0000_0000;
const READ_ONLY: u64 = 0x5b00_0000_0000;
const RFLAGS_TF: u64 = 1 << 8;
const RFLAGS_AC: u64 = 1 << 18;

/// Records the exception and resumes at the landing address in rcx.
fn record(frame: &mut ExceptionFrame) {
    VECTOR.store(frame.vector, Ordering::SeqCst);
    ERROR.store(frame.error_code, Ordering::SeqCst);
    ADDRESS.store(frame.fault_address, Ordering::SeqCst);
    frame.rflags &= !(RFLAGS_TF | RFLAGS_AC);
    frame.rip = frame.rcx;
}

fn expect(
    name: &str,
    vector: u64,
    error: Option<(u64, u64)>,
    address: Option<u64>,
    raise: impl FnOnce(),
) {
    VECTOR.store(u64::MAX, Ordering::SeqCst);
    raise();
    let (got, code, at) = (
        VECTOR.load(Ordering::SeqCst),
        ERROR.load(Ordering::SeqCst),
        ADDRESS.load(Ordering::SeqCst),
    );
    check!(got == vector, "{name}: vector {got}, expected {vector}");
    if let Some((mask, value)) = error {
        check!(code & mask == value, "{name}: error code {code:#x}");
    }
    if let Some(address) = address {
        check!(
            at == address,
            "{name}: address {at:#x}, expected {address:#x}"
        );
    }
    println!("{name}: vector {got} reflected, error {code:#x}, address {at:#x}");
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_memory(boot_info, None);
    for vector in [0, 1, 3, 6, 13, 14] {
        if hv::trap::set_handler(vector, record).is_err() {
            scenario::fail(format_args!("set_handler {vector}"));
        }
    }
    let root = paging::current_root();
    let frame = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    check!(
        paging::map(
            root,
            READ_ONLY,
            frame,
            PageSize::Size4K,
            PageFlags::NO_EXECUTE
        )
        .is_ok(),
        "map"
    );
    // SAFETY: raises the exception on purpose; `record` resumes at label 2,
    // whose address the asm leaves in rcx.
    expect("divide error", 0, Some((u64::MAX, 0)), None, || unsafe {
        asm!("lea rcx, [rip + 2f]", "div {0:e}", "2:", in(reg) 0u32, inout("eax") 1u32 => _, inout("edx") 0u32 => _, out("rcx") _);
    });
    // SAFETY: raises the exception on purpose; `record` resumes at label 2,
    // whose address the asm leaves in rcx.
    expect("debug (single step)", 1, None, None, || unsafe {
        asm!("lea rcx, [rip + 2f]", "pushfq", "or qword ptr [rsp], {tf}", "popfq", "nop", "2:", tf = const RFLAGS_TF, out("rcx") _);
    });
    // SAFETY: raises the exception on purpose; `record` resumes at label 2,
    // whose address the asm leaves in rcx.
    expect("breakpoint", 3, Some((u64::MAX, 0)), None, || unsafe {
        asm!("lea rcx, [rip + 2f]", "int3", "2:", out("rcx") _);
    });
    // SAFETY: raises the exception on purpose; `record` resumes at label 2,
    // whose address the asm leaves in rcx.
    expect("invalid opcode", 6, Some((u64::MAX, 0)), None, || unsafe {
        asm!("lea rcx, [rip + 2f]", "ud2", "2:", out("rcx") _);
    });
    expect(
        "general protection (cli)",
        13,
        Some((u64::MAX, 0)),
        None,
        // SAFETY: raises the exception on purpose; `record` resumes at
        // label 2, whose address the asm leaves in rcx.
        || unsafe {
            asm!("lea rcx, [rip + 2f]", "cli", "2:", out("rcx") _);
        },
    );
    expect(
        "general protection (int 0x80)",
        13,
        Some((0b111, 0b010)),
        None,
        // SAFETY: raises the exception on purpose; `record` resumes at
        // label 2, whose address the asm leaves in rcx.
        || unsafe {
            asm!("lea rcx, [rip + 2f]", "int 0x80", "2:", out("rcx") _);
        },
    );
    expect(
        "page fault (read, not present)",
        14,
        Some((u64::MAX, 0b100)),
        Some(UNMAPPED + 8),
        // SAFETY: raises the exception on purpose; `record` resumes at
        // label 2, whose address the asm leaves in rcx.
        || unsafe {
            asm!("lea rcx, [rip + 2f]", "mov rax, [{a}]", "2:", a = in(reg) UNMAPPED + 8, out("rax") _, out("rcx") _);
        },
    );
    expect(
        "page fault (write, read-only)",
        14,
        Some((u64::MAX, 0b111)),
        Some(READ_ONLY + 16),
        // SAFETY: raises the exception on purpose; `record` resumes at
        // label 2, whose address the asm leaves in rcx.
        || unsafe {
            asm!("lea rcx, [rip + 2f]", "mov qword ptr [{a}], 1", "2:", a = in(reg) READ_ONLY + 16, out("rcx") _);
        },
    );
    scenario::done()
}
