//! Scenario guest: the classic holes that make x86 not classically
//! virtualizable (Popek and Goldberg), as a kernel sees them.
//!
//! With `ops=native` (in a domain with `mode=emulate`) it shows what an
//! unmodified kernel runs into: `pushf` shows the real interrupt flag (set)
//! after an emulated `cli` masked the virtual one; `popf` clearing IF does
//! not fault and changes nothing, so interrupts stay enabled behind the
//! kernel's back; and `sgdt`, `sidt`, `smsw` and `str` either fault and are
//! emulated (with CR4.UMIP, `umip=on`: the guest sees its own virtual
//! tables) or run without trapping and show the hypervisor's tables
//! (`umip=off`, the hypervisor started with `umip=off`).
//!
//! With `ops=pv` it shows how the paravirtual interface avoids each: the
//! virtual interrupt flag is a byte of the shared page the kernel reads and
//! writes itself (never `pushf`/`popf`), the kernel never needs the
//! descriptor-table or machine-status stores (its handlers and its
//! address space go through hypercalls), and with UMIP a stray `sidt`
//! faults to its own handler.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use shared_abi::emulation::{RFLAGS_IF, VIRTUAL_CR0};
use shared_abi::trap::ExceptionFrame;

use guest_kernel::native::{self, TableRegister};
use guest_kernel::{check, hv, interrupts, println, scenario};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

static EVENTS: AtomicU64 = AtomicU64::new(0);

fn count_event(_port: u32) {
    EVENTS.fetch_add(1, Ordering::SeqCst);
}

fn mask() -> u8 {
    interrupts::shared().vcpu.upcall_mask.load(Ordering::SeqCst)
}

/// Sends an event to this domain; whether its handler ran at once.
fn delivered_now(send_port: u32) -> bool {
    let before = EVENTS.load(Ordering::SeqCst);
    let _ = hv::events::send(send_port);
    EVENTS.load(Ordering::SeqCst) > before
}

fn is_upper_half(address: u64) -> bool {
    address >= 0xffff_8000_0000_0000
}

fn native_flags(send_port: u32) {
    native::sti();
    native::cli();
    let flags = native::flags();
    check!(mask() == 1, "cli did not mask the virtual interrupt flag");
    check!(flags & RFLAGS_IF != 0, "pushf showed IF clear: no hole?");
    println!(
        "hole: pushf after cli shows IF=1 (rflags {flags:#x}) while virtual interrupts are masked"
    );
    native::sti();
    native::set_flags(native::flags() & !RFLAGS_IF);
    check!(mask() == 0, "popf changed the virtual interrupt flag");
    check!(
        delivered_now(send_port),
        "the event was held: popf masked after all?"
    );
    println!(
        "hole: popf with IF=0 did not fault and masked nothing: an event sent next was delivered"
    );
}

fn native_stores(umip: bool) {
    let idt = native::sidt();
    let (idt_base, idt_limit) = (idt.base, idt.limit);
    let table = TableRegister {
        limit: 0x37,
        base: 0x0000_4000_0000_1000,
    };
    native::lgdt(&table);
    let gdt = native::sgdt();
    let (gdt_base, gdt_limit) = (gdt.base, gdt.limit);
    let msw = native::smsw();
    let task = native::str();
    if umip {
        check!(
            (idt_base, idt_limit) == (0, 0),
            "sidt: {idt_base:#x}/{idt_limit:#x}"
        );
        check!(gdt == table, "sgdt: {gdt_base:#x}/{gdt_limit:#x}");
        check!(msw as u64 == VIRTUAL_CR0 & 0xffff, "smsw: {msw:#x}");
        check!(task == 0, "str: {task:#x}");
        println!(
            "UMIP: sidt, sgdt, smsw and str trapped and were emulated: the virtual IDT (none), the guest's own GDT, the virtual CR0 ({msw:#x}), no task register"
        );
    } else {
        check!(
            is_upper_half(idt_base),
            "sidt did not show the hypervisor's IDT: {idt_base:#x}"
        );
        check!(
            is_upper_half(gdt_base),
            "sgdt did not show the hypervisor's GDT: {gdt_base:#x}"
        );
        check!(gdt != table, "sgdt showed the guest's table: it trapped");
        check!(
            msw as u64 != VIRTUAL_CR0 & 0xffff,
            "smsw showed the virtual CR0"
        );
        check!(task != 0, "str showed no task register");
        println!(
            "hole: without UMIP sidt shows the hypervisor's IDT at {idt_base:#x}, sgdt its GDT at {gdt_base:#x}, smsw the real CR0 ({msw:#x}), str its task register ({task:#x}): none trapped"
        );
    }
}

static FAULTS: AtomicU64 = AtomicU64::new(0);

/// Skips the three-byte `sidt [reg]` that faulted.
fn skip_sidt(frame: &mut ExceptionFrame) {
    FAULTS.fetch_add(1, Ordering::SeqCst);
    frame.rip += 3;
}

fn paravirtual(send_port: u32, umip: bool) {
    interrupts::enable();
    let was_enabled = interrupts::disable();
    check!(was_enabled && mask() == 1, "the shared page's mask");
    check!(
        !delivered_now(send_port),
        "an event was delivered while masked"
    );
    interrupts::enable();
    check!(
        EVENTS.load(Ordering::SeqCst) == 1,
        "the held event at enable"
    );
    println!(
        "pv: the virtual interrupt flag is the shared page's mask: an event sent while it was set waited for enable"
    );
    let root = hv::mmu_get_base();
    println!(
        "pv: handlers are registered and the address space read by hypercall (root {root:#x}); no descriptor-table store is needed"
    );
    if umip {
        if hv::trap::set_handler(13, skip_sidt).is_err() {
            scenario::fail(format_args!("set_handler"));
        }
        let mut table = TableRegister::default();
        // SAFETY: faults (UMIP) into `skip_sidt`, which skips its three
        // bytes; with UMIP off it would store 10 bytes into `table`.
        unsafe { core::arch::asm!("sidt [rax]", in("rax") &mut table, options(nostack)) };
        check!(FAULTS.load(Ordering::SeqCst) == 1, "sidt did not fault");
        println!("pv: with UMIP a stray sidt faults to the kernel's own handler");
    }
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    let info = scenario::start_info();
    let args = info.args();
    let umip = scenario::arg(args, "umip") != Some("off");
    let me = info.domain_id;
    let offered = hv::events::alloc_unbound(me)
        .unwrap_or_else(|_| scenario::fail(format_args!("alloc_unbound")));
    let bound = hv::events::bind_interdomain(me, offered)
        .unwrap_or_else(|_| scenario::fail(format_args!("bind")));
    interrupts::on_port(bound, count_event);
    match scenario::arg(args, "ops") {
        Some("native") => {
            native_flags(offered);
            native_stores(umip);
        }
        Some("pv") => paravirtual(offered, umip),
        other => scenario::fail(format_args!("unknown ops {other:?}")),
    }
    scenario::done()
}
