//! The IDT: every exception vector enters [`entry`](super::entry) through
//! its stub, and so do the APIC timer and spurious interrupts. Only `int3` and `into` may be raised from ring 3 (gate DPL 3);
//! any other `int N` from a guest is a general-protection fault.

use spin::Once;
use x86_64::PrivilegeLevel;
use x86_64::VirtAddr;
use x86_64::structures::idt::InterruptDescriptorTable;

use super::entry::EXCEPTION_STUBS;
use super::gdt;

static IDT: Once<InterruptDescriptorTable> = Once::new();

/// Builds and loads the IDT.
pub fn init() {
    let idt = IDT.call_once(|| {
        let mut idt = InterruptDescriptorTable::new();
        for (vector, stub) in EXCEPTION_STUBS.iter().enumerate() {
            let address = VirtAddr::new(*stub as *const () as u64);
            // SAFETY: each stub is an entry point written for exactly this
            // vector (with or without a CPU-pushed error code).
            let options = unsafe {
                match vector {
                    0 => idt.divide_error.set_handler_addr(address),
                    1 => idt.debug.set_handler_addr(address),
                    2 => idt.non_maskable_interrupt.set_handler_addr(address),
                    3 => idt.breakpoint.set_handler_addr(address),
                    4 => idt.overflow.set_handler_addr(address),
                    5 => idt.bound_range_exceeded.set_handler_addr(address),
                    6 => idt.invalid_opcode.set_handler_addr(address),
                    7 => idt.device_not_available.set_handler_addr(address),
                    8 => idt.double_fault.set_handler_addr(address),
                    10 => idt.invalid_tss.set_handler_addr(address),
                    11 => idt.segment_not_present.set_handler_addr(address),
                    12 => idt.stack_segment_fault.set_handler_addr(address),
                    13 => idt.general_protection_fault.set_handler_addr(address),
                    14 => idt.page_fault.set_handler_addr(address),
                    16 => idt.x87_floating_point.set_handler_addr(address),
                    17 => idt.alignment_check.set_handler_addr(address),
                    18 => idt.machine_check.set_handler_addr(address),
                    19 => idt.simd_floating_point.set_handler_addr(address),
                    20 => idt.virtualization.set_handler_addr(address),
                    21 => idt.cp_protection_exception.set_handler_addr(address),
                    28 => idt.hv_injection_exception.set_handler_addr(address),
                    29 => idt.vmm_communication_exception.set_handler_addr(address),
                    30 => idt.security_exception.set_handler_addr(address),
                    _ => continue,
                }
            };
            match vector {
                3 | 4 => {
                    options.set_privilege_level(PrivilegeLevel::Ring3);
                }
                // SAFETY: the IST indices name stacks set up in the TSS.
                8 => unsafe {
                    options.set_stack_index(gdt::DOUBLE_FAULT_IST - 1);
                },
                // SAFETY: as above.
                2 => unsafe {
                    options.set_stack_index(gdt::NMI_IST - 1);
                },
                // SAFETY: as above.
                18 => unsafe {
                    options.set_stack_index(gdt::MACHINE_CHECK_IST - 1);
                },
                _ => {}
            }
        }
        let interrupts = [
            (
                super::apic::TIMER_VECTOR,
                super::entry::timer_entry as *const (),
            ),
            (
                super::apic::SERIAL_VECTOR,
                super::entry::serial_entry as *const (),
            ),
            (
                super::apic::DISK_VECTOR,
                super::entry::disk_entry as *const (),
            ),
            (
                super::apic::SPURIOUS_VECTOR,
                super::entry::spurious_entry as *const (),
            ),
        ];
        for (vector, entry) in interrupts {
            // SAFETY: each entry point is written for exactly this vector.
            unsafe { idt[vector].set_handler_addr(VirtAddr::new(entry as u64)) };
        }
        idt
    });
    idt.load();
}
