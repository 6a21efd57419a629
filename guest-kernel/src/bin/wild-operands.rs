//! Hostile scenario guest for the emulating execution modes: privileged
//! instructions with operands the virtual CPU refuses, each of which must
//! raise exactly the exception the CPU would (reflected to this guest's
//! handlers, which record it and skip the instruction), with nothing else
//! changed. Run with `mode=emulate` or `mode=patch`.
//!
//! Cases: `mov cr3` beyond the domain's memory and with reserved bits;
//! `lidt` from an unmapped, a non-canonical and a hypervisor address;
//! `sidt` into read-only code and across into an unmapped page (nothing
//! written); `iretq` from frames with a non-canonical return address or
//! stack; `out` and `in` to ports that are not the console's (and one
//! running past it); MSRs the virtual CPU does not have and values it
//! refuses; `mov cr0`; and one `out dx, al` site run first with the
//! console's port (emulated, and in patch mode patched) and then with
//! another (which must fault as itself, the patch undone).
//!
//! With `case=empty-idt` it instead loads a virtual IDT with no gate and
//! executes `ud2`: the hypervisor must stop it.
#![no_std]
#![no_main]

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use shared_abi::emulation::{COM1, VIRTUAL_EFER, msr};
use shared_abi::trap::ExceptionFrame;

use guest_kernel::memory::paging::{self, PageFlags};
use guest_kernel::{check, hv, println, scenario};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const SCRATCH: u64 = 0x5d00_0001_0000;
const UNMAPPED: u64 = 0x5f00_0000_0000;
const NON_CANONICAL: u64 = 0x8000_0000_0000_0000;
const HYPERVISOR: u64 = 0xffff_8000_0010_0000;

const GP: u64 = 13;
const PF: u64 = 14;

static VECTOR: AtomicU64 = AtomicU64::new(u64::MAX);
static ERROR: AtomicU64 = AtomicU64::new(0);
static ADDRESS: AtomicU64 = AtomicU64::new(0);
/// Bytes of the instruction the next fault skips.
static SKIP: AtomicU64 = AtomicU64::new(0);

fn record(frame: &mut ExceptionFrame) {
    VECTOR.store(frame.vector, Ordering::SeqCst);
    ERROR.store(frame.error_code, Ordering::SeqCst);
    ADDRESS.store(frame.fault_address, Ordering::SeqCst);
    frame.rip += SKIP.load(Ordering::SeqCst);
}

/// Expects the case just run to have raised `vector` with `error` (and,
/// for a page fault, at `address`).
fn expect(case: &str, vector: u64, error: Option<u64>, address: Option<u64>) {
    let seen = VECTOR.swap(u64::MAX, Ordering::SeqCst);
    let seen_error = ERROR.load(Ordering::SeqCst);
    let seen_address = ADDRESS.load(Ordering::SeqCst);
    check!(seen == vector, "{case}: vector {seen}, expected {vector}");
    if let Some(error) = error {
        check!(
            seen_error == error,
            "{case}: error {seen_error:#x}, expected {error:#x}"
        );
    }
    if let Some(address) = address {
        check!(
            seen_address == address,
            "{case}: address {seen_address:#x}, expected {address:#x}"
        );
    }
}

fn mov_cr3(value: u64) {
    SKIP.store(3, Ordering::SeqCst);
    // SAFETY: refused (the case checks it): mov cr3, rax (3 bytes).
    unsafe { asm!("mov cr3, rax", in("rax") value, options(nostack)) }
}

fn lidt(address: u64) {
    SKIP.store(3, Ordering::SeqCst);
    // SAFETY: refused: lidt [rax] (3 bytes).
    unsafe { asm!("lidt [rax]", in("rax") address, options(nostack)) }
}

fn sidt(address: u64) {
    SKIP.store(3, Ordering::SeqCst);
    // SAFETY: refused: sidt [rax] (3 bytes).
    unsafe { asm!("sidt [rax]", in("rax") address, options(nostack)) }
}

/// One `out dx, al` site for every call (not inlined).
#[inline(never)]
fn out_byte(port: u16, byte: u8) {
    SKIP.store(1, Ordering::SeqCst);
    // SAFETY: out dx, al (1 byte): the console, or refused.
    unsafe { asm!("out dx, al", in("dx") port, in("al") byte, options(nostack)) }
}

fn in_dword(port: u16) {
    SKIP.store(1, Ordering::SeqCst);
    // SAFETY: refused: in eax, dx (1 byte).
    unsafe { asm!("in eax, dx", in("dx") port, out("eax") _, options(nostack)) }
}

fn rdmsr(number: u32) {
    SKIP.store(2, Ordering::SeqCst);
    // SAFETY: refused: rdmsr (2 bytes).
    unsafe { asm!("rdmsr", in("ecx") number, out("eax") _, out("edx") _, options(nostack)) }
}

fn wrmsr(number: u32, value: u64) {
    SKIP.store(2, Ordering::SeqCst);
    // SAFETY: refused: wrmsr (2 bytes).
    unsafe {
        asm!("wrmsr", in("ecx") number, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nostack))
    }
}

/// `iretq` from a frame at `frame` (in the scratch page); the handler
/// skips it, and the stack pointer comes back from a register.
fn iretq(frame: u64) {
    SKIP.store(2, Ordering::SeqCst);
    // SAFETY: refused: iretq (2 bytes) from a frame the case built; the
    // original stack pointer is kept in a register the fault preserves.
    unsafe {
        asm!(
            "mov {saved}, rsp",
            "mov rsp, {frame}",
            "iretq",
            "mov rsp, {saved}",
            frame = in(reg) frame,
            saved = out(reg) _,
        )
    }
}

fn write_frame(at: u64, words: [u64; 5]) {
    for (index, word) in words.iter().enumerate() {
        // SAFETY: the scratch page is mapped writable.
        unsafe { ((at + index as u64 * 8) as *mut u64).write_volatile(*word) };
    }
}

/// Loads an IDT of one absent gate, then raises #UD: undeliverable.
fn empty_idt() -> ! {
    let table = [0u8; 16];
    let register = guest_kernel::native::TableRegister {
        limit: 15,
        base: table.as_ptr() as u64,
    };
    // SAFETY: the point: every exception from here on is undeliverable
    // and the hypervisor stops this domain.
    unsafe {
        guest_kernel::native::lidt(&register);
        asm!("ud2", options(nostack));
    }
    println!("NOT CONTAINED: #UD with an empty IDT");
    hv::shutdown(1)
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    if scenario::arg(scenario::start_info().args(), "case") == Some("empty-idt") {
        empty_idt();
    }
    for vector in [12, GP, PF] {
        if hv::trap::set_handler(vector, record).is_err() {
            scenario::fail(format_args!("set_handler {vector}"));
        }
    }
    paging::map_page(SCRATCH, PageFlags::WRITABLE | PageFlags::NO_EXECUTE)
        .unwrap_or_else(|_| scenario::fail(format_args!("map the scratch page")));
    let memory = scenario::start_info().memory_bytes;
    let mut cases = 0;

    mov_cr3(memory);
    expect("mov cr3 beyond memory", GP, Some(0), None);
    mov_cr3(1 << 52);
    expect("mov cr3 with a reserved bit", GP, Some(0), None);
    lidt(UNMAPPED);
    expect("lidt from an unmapped page", PF, Some(0x4), Some(UNMAPPED));
    lidt(NON_CANONICAL);
    expect("lidt from a non-canonical address", GP, Some(0), None);
    lidt(HYPERVISOR);
    expect(
        "lidt from the hypervisor's memory",
        PF,
        None,
        Some(HYPERVISOR),
    );
    let code = main as *const () as u64;
    sidt(code);
    expect("sidt into code", PF, Some(0x7), Some(code));
    let edge = SCRATCH + 0x1000 - 4;
    // SAFETY: the scratch page is mapped writable.
    unsafe { (edge as *mut u32).write_volatile(0x5a5a_5a5a) };
    sidt(edge);
    expect(
        "sidt across into an unmapped page",
        PF,
        Some(0x6),
        Some(SCRATCH + 0x1000),
    );
    // SAFETY: as above.
    let kept = unsafe { (edge as *const u32).read_volatile() };
    check!(kept == 0x5a5a_5a5a, "a refused sidt wrote {kept:#x}");
    cases += 7;

    let frame = SCRATCH + 0x800;
    write_frame(frame, [NON_CANONICAL, 0x08, 0x202, SCRATCH + 0x700, 0x10]);
    iretq(frame);
    expect("iretq to a non-canonical address", GP, Some(0), None);
    write_frame(frame, [code, 0x08, 0x202, HYPERVISOR, 0x10]);
    iretq(frame);
    expect("iretq to a hypervisor stack", GP, Some(0), None);
    cases += 2;

    out_byte(0x80, b'.');
    expect("out to port 0x80", GP, Some(0), None);
    in_dword(COM1 + 6);
    expect("in eax running past the UART", GP, Some(0), None);
    in_dword(0x60);
    expect("in from the keyboard port", GP, Some(0), None);
    rdmsr(0xc000_0082);
    expect("rdmsr LSTAR", GP, Some(0), None);
    rdmsr(0xffff_ffff);
    expect("rdmsr of no MSR", GP, Some(0), None);
    wrmsr(msr::EFER, VIRTUAL_EFER ^ (1 << 11));
    expect("wrmsr EFER with NXE cleared", GP, Some(0), None);
    wrmsr(msr::PAT, 0x0202_0202_0202_0202);
    expect("wrmsr PAT with a reserved type", GP, Some(0), None);
    wrmsr(msr::TSC_AUX, 1 << 32);
    expect("wrmsr TSC_AUX beyond 32 bits", GP, Some(0), None);
    wrmsr(msr::TSC, 0);
    expect("wrmsr TSC", GP, Some(0), None);
    SKIP.store(3, Ordering::SeqCst);
    // SAFETY: refused: mov cr0, rax (3 bytes).
    unsafe { asm!("mov cr0, rax", in("rax") 0x8000_0011u64, options(nostack)) };
    expect("mov cr0", GP, Some(0), None);
    cases += 10;

    // One site, first with the console's port, then with another.
    for (port, faults) in [(COM1, false), (COM1, false), (0x80, true), (COM1, false)] {
        out_byte(port, b'.');
        if faults {
            expect("a patched out site with another port", GP, Some(0), None);
        } else {
            check!(
                VECTOR.load(Ordering::SeqCst) == u64::MAX,
                "out to the console faulted"
            );
        }
    }
    out_byte(COM1, b'\n');
    cases += 1;
    println!("{cases} refused operands answered with the CPU's own exceptions; still running");
    scenario::done()
}
