//! Scenario guest for the emulating execution modes: a kernel that uses
//! the native privileged instructions and checks that each does what it
//! does on a CPU. Run with `mode=emulate` or `mode=patch` (and the same in
//! its argument string, `mode=patch`, to check the patched bytes too).
//!
//! In order: `cli`/`sti` against the shared page's mask and an event
//! sent while masked; a single step over an emulated `cli`; `sti; hlt` woken by the timer and `hlt` with an
//! event already pending; `mov cr3` and `mov reg, cr3` between two
//! address spaces that map a page differently; `invlpg` dropping a stale
//! translation; the console UART (`in` of the line status, `out` of each
//! byte); `rdmsr`/`wrmsr`; code the guest writes at run time: a site
//! rewritten with another instruction, an instruction split across two
//! pages, a patched instruction whose operand bytes change; and last
//! `lidt`: exceptions (`ud2`, a page fault, the guest's own `int3`) and
//! event upcalls delivered through the guest's IDT and returned from with
//! `iretq`.
#![no_std]
#![no_main]

use core::arch::{asm, naked_asm};
use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use shared_abi::emulation::{COM1, GATE_BYTES, VIRTUAL_CR0, VIRTUAL_EFER, gate, msr};
use shared_abi::event::Virq;
use shared_abi::trap::ExceptionFrame;

use guest_kernel::memory::frames;
use guest_kernel::memory::paging::{self, GuestTables, PageFlags, PageSize};
use guest_kernel::native::{self, TableRegister};
use guest_kernel::{check, hv, interrupts, println, scenario};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

/// Two pages of code the guest writes at run time.
const CODE: u64 = 0x5d00_0000_0000;
/// A page mapped differently in two address spaces.
const SPLIT_VIEW: u64 = 0x5e00_0000_0000;
/// Never mapped.
const UNMAPPED: u64 = 0x5f00_0000_0000;

static EVENTS: AtomicU64 = AtomicU64::new(0);

fn count_event(_port: u32) {
    EVENTS.fetch_add(1, Ordering::SeqCst);
}

fn events() -> u64 {
    EVENTS.load(Ordering::SeqCst)
}

fn masked() -> bool {
    interrupts::shared().vcpu.upcall_mask.load(Ordering::SeqCst) != 0
}

fn frame() -> u64 {
    frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("out of frames")))
}

fn interrupt_flag(send_port: u32) {
    native::sti();
    native::cli();
    check!(masked(), "cli did not mask virtual interrupts");
    let before = events();
    let _ = hv::events::send(send_port);
    check!(events() == before, "an event was delivered while masked");
    native::sti();
    check!(!masked(), "sti did not unmask");
    check!(
        events() == before + 1,
        "the pending event was not delivered at sti"
    );
    println!("cli/sti: an event sent while masked was delivered at sti");
}

static STEPPED_AT: AtomicU64 = AtomicU64::new(0);

fn stepped(frame: &mut ExceptionFrame) {
    STEPPED_AT.store(frame.rip, Ordering::SeqCst);
    frame.rflags &= !TRAP_FLAG;
}

const TRAP_FLAG: u64 = 1 << 8;

/// Single-stepping over an emulated instruction traps right after it, as
/// over any other.
fn single_step() {
    hv::trap::set_handler(1, stepped)
        .unwrap_or_else(|_| scenario::fail(format_args!("set_handler")));
    let after: u64;
    // SAFETY: sets TF; the trap after `cli` lands in `stepped`, which
    // clears it; then interrupts are enabled again.
    unsafe {
        asm!(
            "pushfq",
            "or qword ptr [rsp], {tf}",
            "popfq",
            "cli",
            "2:",
            "lea {after}, [rip + 2b]",
            tf = const TRAP_FLAG,
            after = out(reg) after,
        )
    };
    native::sti();
    check!(
        STEPPED_AT.load(Ordering::SeqCst) == after,
        "no single-step trap right after the emulated cli"
    );
    let _ = hv::trap::clear_handler(1);
    println!("a single step over an emulated instruction trapped right after it");
}

fn halt(send_port: u32) {
    interrupts::bind_virq(Virq::Timer, count_event)
        .unwrap_or_else(|_| scenario::fail(format_args!("bind the timer")));
    native::cli();
    let before = events();
    let _ = hv::events::set_timer(interrupts::now_ns() + 1_000_000);
    native::sti_hlt();
    check!(
        events() == before + 1,
        "sti; hlt returned without the timer event"
    );
    native::cli();
    let _ = hv::events::send(send_port);
    // SAFETY: with an event pending, hlt returns at once.
    unsafe { asm!("hlt", options(nostack)) };
    check!(
        events() == before + 1,
        "hlt with interrupts masked delivered the event"
    );
    native::sti();
    check!(events() == before + 2, "the event was lost");
    println!("sti; hlt woke on the timer; hlt with an event pending returned at once");
}

/// Two address spaces that map `SPLIT_VIEW` to different frames.
fn address_spaces() -> (u64, u64) {
    let root = native::read_cr3();
    check!(
        root == paging::current_root(),
        "mov reg, cr3 disagrees with mmu_get_base"
    );
    let other =
        paging::clone_address_space(root).unwrap_or_else(|| scenario::fail(format_args!("clone")));
    for (space, value) in [(root, 0xaaaa_u64), (other, 0xbbbb)] {
        let frame = frame();
        // SAFETY: a fresh frame of this guest, at the physical offset.
        unsafe {
            guest_kernel::memory::phys_to_virt(frame)
                .cast::<u64>()
                .write(value)
        };
        let flags = PageFlags::WRITABLE | PageFlags::NO_EXECUTE;
        if paging::map(space, SPLIT_VIEW, frame, PageSize::Size4K, flags).is_err() {
            scenario::fail(format_args!("map the split view"));
        }
    }
    (root, other)
}

fn read_view() -> u64 {
    // SAFETY: SPLIT_VIEW is mapped in both address spaces.
    unsafe { (SPLIT_VIEW as *const u64).read_volatile() }
}

fn mov_cr3(root: u64, other: u64) {
    check!(read_view() == 0xaaaa, "the first space's view");
    // SAFETY: `other` maps everything `root` does but SPLIT_VIEW.
    unsafe { native::write_cr3(other) };
    check!(native::read_cr3() == other, "cr3 reads back another root");
    check!(read_view() == 0xbbbb, "mov cr3 did not switch the view");
    // SAFETY: as above.
    unsafe { native::write_cr3(root) };
    check!(read_view() == 0xaaaa, "switching back");
    check!(native::read_cr0() == VIRTUAL_CR0, "cr0 is the virtual one");
    println!("mov cr3 switched between two address spaces and mov reg, cr3 read them back");
}

fn invlpg(root: u64) {
    let fresh = frame();
    // SAFETY: a fresh frame of this guest.
    unsafe {
        guest_kernel::memory::phys_to_virt(fresh)
            .cast::<u64>()
            .write(0xcccc)
    };
    let flags = PageFlags::WRITABLE | PageFlags::NO_EXECUTE | PageFlags::USER;
    shared_abi::page_table::remap(
        &mut GuestTables,
        root,
        SPLIT_VIEW,
        fresh,
        PageSize::Size4K,
        flags,
    )
    .unwrap_or_else(|_| scenario::fail(format_args!("remap")));
    check!(
        read_view() == 0xaaaa,
        "the stale translation should still be in use"
    );
    native::invlpg(SPLIT_VIEW);
    check!(
        read_view() == 0xcccc,
        "invlpg did not drop the stale translation"
    );
    println!("invlpg dropped a stale translation");
}

fn console() {
    check!(
        native::inb(COM1 + 5) & 0x60 == 0x60,
        "the UART is not ready"
    );
    for &byte in b"native console: written through the UART\n" {
        native::serial_byte(byte);
    }
}

fn model_specific_registers() {
    check!(native::rdmsr(msr::EFER) == VIRTUAL_EFER, "EFER");
    native::wrmsr(msr::EFER, VIRTUAL_EFER);
    native::wrmsr(msr::TSC_AUX, 42);
    check!(native::rdmsr(msr::TSC_AUX) == 42, "TSC_AUX kept");
    check!(native::rdmsr(msr::PAT) == msr::PAT_RESET, "PAT at reset");
    let (before, after) = (native::rdmsr(msr::TSC), native::rdmsr(msr::TSC));
    check!(after > before, "the TSC moves");
    println!("rdmsr/wrmsr: EFER, TSC_AUX, PAT and the TSC as documented");
}

/// Runs the code at `address` with `rax` and `rcx` as given.
fn call_code(address: u64, rax: u64, rcx: u64) {
    // SAFETY: the code at `address` is what this guest wrote: one
    // instruction and `ret`, clobbering nothing else.
    unsafe {
        asm!("call {}", in(reg) address, inout("rax") rax => _, inout("rcx") rcx => _, clobber_abi("C"))
    }
}

fn code_byte(address: u64) -> u8 {
    // SAFETY: the code pages are mapped readable.
    unsafe { (address as *const u8).read_volatile() }
}

fn write_code(address: u64, bytes: &[u8]) {
    for (index, &byte) in bytes.iter().enumerate() {
        // SAFETY: the code pages are mapped writable.
        unsafe { ((address + index as u64) as *mut u8).write_volatile(byte) };
    }
}

/// Maps the two code pages (before the second address space is cloned,
/// so that both share them).
fn map_code() {
    for page in [CODE, CODE + 0x1000] {
        paging::map_page(page, PageFlags::WRITABLE)
            .unwrap_or_else(|_| scenario::fail(format_args!("map code")));
    }
}

fn written_code(root: u64, other: u64, patching: bool) {
    let expect_patched = |address: u64, original: u8, what: &str| {
        let expected = if patching { 0xcc } else { original };
        let byte = code_byte(address);
        check!(
            byte == expected,
            "{what}: byte {byte:#x}, expected {expected:#x}"
        );
    };

    // A site, then the same site rewritten by the guest.
    write_code(CODE, &[0xfa, 0xc3]); // cli; ret
    for _ in 0..2 {
        native::sti();
        call_code(CODE, 0, 0);
        check!(masked(), "the written cli did not mask");
        expect_patched(CODE, 0xfa, "cli site");
    }
    write_code(CODE, &[0xfb]); // sti over the (patched) cli
    for _ in 0..2 {
        native::cli();
        call_code(CODE, 0, 0);
        check!(
            !masked(),
            "the rewritten site still runs the old instruction"
        );
        expect_patched(CODE, 0xfb, "rewritten site");
    }
    println!("a site the guest rewrote runs the new instruction");

    // mov cr3, rax split across the two pages.
    let split = CODE + 0x1000 - 2;
    write_code(split, &[0x0f, 0x22, 0xd8, 0xc3]);
    for _ in 0..2 {
        call_code(split, other, 0);
        check!(
            native::read_cr3() == other,
            "the split mov cr3 did not switch"
        );
        // SAFETY: back to the first space.
        unsafe { native::write_cr3(root) };
        expect_patched(split, 0x0f, "split site");
    }
    check!(
        code_byte(split + 2) == 0xd8,
        "the tail on the second page is left alone"
    );
    println!("an instruction split across two pages was emulated");

    // A patched site whose operand byte the guest changes: mov cr3, rax
    // becomes mov cr3, rcx.
    let site = CODE + 0x100;
    write_code(site, &[0x0f, 0x22, 0xd8, 0xc3]);
    call_code(site, other, root);
    check!(native::read_cr3() == other, "mov cr3, rax");
    call_code(site, root, other);
    check!(native::read_cr3() == root, "mov cr3, rax again");
    expect_patched(site, 0x0f, "mov cr3 site");
    write_code(site + 2, &[0xd9]);
    call_code(site, other, root);
    check!(
        native::read_cr3() == root,
        "the changed operand was not seen: rax used, not rcx"
    );
    call_code(site, root, other);
    check!(native::read_cr3() == other, "mov cr3, rcx again");
    // SAFETY: back to the first space.
    unsafe { native::write_cr3(root) };
    expect_patched(site, 0x0f, "re-patched site");
    println!("a patched instruction whose operand the guest changed ran as changed");
}

static UD: AtomicU64 = AtomicU64::new(0);
static PF: AtomicU64 = AtomicU64::new(0);
static BP: AtomicU64 = AtomicU64::new(0);
static UPCALLS: AtomicU64 = AtomicU64::new(0);

/// `#UD`: skips the two-byte `ud2`.
#[unsafe(naked)]
extern "C" fn invalid_opcode_entry() {
    naked_asm!(
        "add qword ptr [rsp], 2",
        "lock inc qword ptr [rip + {count}]",
        "iretq",
        count = sym UD,
    )
}

/// `#PF`: skips the three-byte load that faulted and drops the error code.
#[unsafe(naked)]
extern "C" fn page_fault_entry() {
    naked_asm!(
        "add qword ptr [rsp + 8], 3",
        "lock inc qword ptr [rip + {count}]",
        "add rsp, 8",
        "iretq",
        count = sym PF,
    )
}

/// `#BP`: the frame already points after the `int3`.
#[unsafe(naked)]
extern "C" fn breakpoint_entry() {
    naked_asm!(
        "lock inc qword ptr [rip + {count}]",
        "iretq",
        count = sym BP,
    )
}

/// Vector 32, the event upcall: saves what a call clobbers, takes the
/// pending ports, returns with `iretq`. The frame leaves `rsp` 8 bytes off
/// a 16-byte boundary, as at a function's entry; nine pushes align it.
#[unsafe(naked)]
extern "C" fn upcall_entry() {
    naked_asm!(
        "push rax", "push rcx", "push rdx", "push rsi", "push rdi",
        "push r8", "push r9", "push r10", "push r11",
        "call {handler}",
        "pop r11", "pop r10", "pop r9", "pop r8",
        "pop rdi", "pop rsi", "pop rdx", "pop rcx", "pop rax",
        "iretq",
        handler = sym on_upcall,
    )
}

extern "C" fn on_upcall() {
    loop {
        let ready = interrupts::take_pending();
        if ready == 0 {
            break;
        }
        UPCALLS.fetch_add(ready.count_ones() as u64, Ordering::SeqCst);
    }
}

#[repr(C, align(16))]
struct Idt([[u8; GATE_BYTES]; 33]);

static mut IDT: Idt = Idt([[0; GATE_BYTES]; 33]);

fn interrupt_descriptor_table(send_port: u32) {
    let gates: [(usize, extern "C" fn(), bool); 4] = [
        (3, breakpoint_entry, false),
        (6, invalid_opcode_entry, true),
        (14, page_fault_entry, true),
        (32, upcall_entry, true),
    ];
    // SAFETY: nothing else uses the table yet.
    let idt = unsafe { &mut *core::ptr::addr_of_mut!(IDT) };
    for (vector, handler, interrupt) in gates {
        idt.0[vector] = gate(handler as usize as u64, interrupt);
    }
    let table = TableRegister {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: idt as *const Idt as u64,
    };
    native::cli();
    // SAFETY: the gates above enter handlers built for the CPU's frame;
    // nothing after this allocates (a heap fault would go to the table).
    unsafe { native::lidt(&table) };
    check!(native::sidt() == table, "sidt reads back the table");

    // SAFETY: ud2 raises #UD; the handler skips it.
    unsafe { asm!("ud2", options(nostack)) };
    check!(UD.load(Ordering::SeqCst) == 1, "#UD through the IDT");
    // SAFETY: the load faults; the handler skips its three bytes.
    unsafe { asm!("mov rax, qword ptr [rcx]", in("rcx") UNMAPPED, out("rax") _, options(nostack)) };
    check!(PF.load(Ordering::SeqCst) == 1, "#PF through the IDT");
    check!(
        native::read_cr2() == UNMAPPED,
        "cr2 holds the fault address"
    );
    // SAFETY: int3 raises #BP; the handler returns after it.
    unsafe { asm!("int3", options(nostack)) };
    check!(
        BP.load(Ordering::SeqCst) == 1,
        "the guest's own int3 through the IDT"
    );

    let _ = hv::events::send(send_port);
    check!(
        UPCALLS.load(Ordering::SeqCst) == 0,
        "delivered while masked"
    );
    native::sti();
    check!(
        UPCALLS.load(Ordering::SeqCst) == 1,
        "the upcall through vector 32 at sti"
    );
    let _ = hv::events::send(send_port);
    check!(
        UPCALLS.load(Ordering::SeqCst) == 2,
        "the upcall at once when enabled"
    );
    check!(!masked(), "iretq restored the interrupt flag");
    println!("lidt: #UD, #PF, #BP and upcalls entered through the IDT and left with iretq");
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    let patching = scenario::arg(scenario::start_info().args(), "mode") == Some("patch");
    let me = scenario::start_info().domain_id;
    // A loopback pair: sending on `offered` raises `bound`.
    let offered = hv::events::alloc_unbound(me)
        .unwrap_or_else(|_| scenario::fail(format_args!("alloc_unbound")));
    let bound = hv::events::bind_interdomain(me, offered)
        .unwrap_or_else(|_| scenario::fail(format_args!("bind")));
    interrupts::on_port(bound, count_event);

    interrupt_flag(offered);
    single_step();
    halt(offered);
    map_code();
    let (root, other) = address_spaces();
    mov_cr3(root, other);
    invlpg(root);
    console();
    model_specific_registers();
    written_code(root, other, patching);
    interrupt_descriptor_table(offered);
    scenario::done()
}
