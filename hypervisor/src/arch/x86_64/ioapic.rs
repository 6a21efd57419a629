//! The I/O APIC: routes a legacy ISA interrupt line to a vector on this CPU.

use crate::mm::address::MachineAddr;
use crate::mm::direct_map::machine_ptr;

const IOAPIC_PHYS: u64 = 0xfec0_0000;
const REDIRECTION_BASE: u32 = 0x10;

fn write(register: u32, value: u32) {
    let select = machine_ptr(MachineAddr(IOAPIC_PHYS)).cast::<u32>();
    // SAFETY: the I/O APIC's select and window registers are at
    // IOAPIC_PHYS and IOAPIC_PHYS + 0x10, inside the direct map; the
    // hypervisor is the only user and runs with interrupts masked.
    unsafe {
        select.write_volatile(register);
        select.add(4).write_volatile(value);
    }
}

/// Delivers ISA interrupt `irq` (edge-triggered, active high, as ISA lines
/// are) to `vector` on the CPU with APIC id 0.
pub fn route(irq: u8, vector: u8) {
    let entry = REDIRECTION_BASE + 2 * irq as u32;
    write(entry + 1, 0);
    write(entry, vector as u32);
}
