//! Boot orchestration, the first Rust code: the arch boot trampoline calls
//! [`hypervisor_main`] on the boot stack. It brings up the CPU (serial,
//! descriptor tables, control registers) through the arch modules, then the
//! hypervisor's memory, clocks and interrupts, in dependency order, and
//! hands over to [`crate::init::run`].
//!
//! This is policy, so it lives in the core: the trampoline knows only the
//! symbol's name.

use shared_abi::exit::HvExit;

use crate::arch::x86_64::{
    apic, boot, cpu, gdt, idt, ioapic, percpu, pic, pit, pvh, qemu_exit, serial, syscall,
};
use crate::mm::{frames, kernel_space};

/// Lowest machine memory never handed out (real-mode data, ROMs, the PVH
/// start info and memory map).
const LOW_MEMORY_END: u64 = 0x10_0000;

unsafe extern "C" {
    static __image_start_phys: u8;
    static __image_end_phys: u8;
}

/// Entry from the trampoline with the `hvm_start_info` machine address.
#[unsafe(no_mangle)]
pub extern "C" fn hypervisor_main(start_info: u32) -> ! {
    let early_input = serial::init();
    crate::log::init(crate::console::message);
    if let Some(kept) = early_input {
        crate::console::uart_input(kept.as_slice());
    }
    let boot_info = match pvh::parse(start_info as u64) {
        Ok(info) => info,
        Err(error) => {
            log::error!("{error}");
            qemu_exit::exit(HvExit::HypervisorFault);
        }
    };
    let options = crate::init::parse_cmdline(boot_info.cmdline);

    let stack_top = boot::boot_stack().end;
    percpu::init(stack_top);
    gdt::init(stack_top);
    idt::init();
    pic::disable();
    pit::stop_channel0();
    let features = cpu::init(options.umip);
    syscall::init();

    let image = (
        (&raw const __image_start_phys) as u64,
        (&raw const __image_end_phys) as u64,
    );
    let usable = boot_info
        .memory_map
        .iter()
        .filter(|range| range.kind == pvh::E820_RAM)
        .map(|range| (range.addr, range.addr.saturating_add(range.size)));
    let ram_top = usable.clone().map(|(_, end)| end).max().unwrap_or(0);
    let module = boot_info
        .module
        .map_or((0, 0), |(addr, size)| (addr, addr + size));
    let reserved = [
        (0, LOW_MEMORY_END),
        image,
        module,
        boot_info.cmdline_range,
        boot_info.modlist_range,
        (boot_info.start_info, boot_info.start_info + 4096),
    ];
    frames::init(usable, &reserved);
    let root = kernel_space::init(ram_top, boot::boot_stack().start);
    // SAFETY: the new tables map the running code, its stack (bar the guard
    // page below it), its data and the direct map exactly as the boot tables
    // did, so execution continues unchanged after the switch.
    unsafe { cpu::write_cr3(root) };
    apic::init();
    crate::time::init();
    ioapic::route(serial::IRQ, apic::SERIAL_VECTOR);
    serial::enable_receive_interrupt();
    if !features.umip_available {
        log::warn!("cpu: no UMIP: guests can read the descriptor-table addresses with sgdt/sidt");
    } else if !features.umip {
        log::warn!(
            "cpu: UMIP off (umip=off): guests can read the descriptor-table addresses with sgdt/sidt"
        );
    }
    log::debug!(
        "cpu: smep {} smap {} umip {}; {} MiB RAM, {} MiB free",
        features.smep,
        features.smap,
        features.umip,
        ram_top >> 20,
        (frames::free_frames() * 4096) >> 20
    );
    crate::init::run(&boot_info, options)
}
