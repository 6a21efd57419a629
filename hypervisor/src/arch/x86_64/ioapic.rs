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

/// Mask bit of a redirection entry's low word.
const MASKED: u32 = 1 << 16;

/// Delivers ISA interrupt `irq` (edge-triggered, active high, as ISA lines
/// are) to `vector` on the CPU with APIC id 0.
pub fn route(irq: u8, vector: u8) {
    Route::masked(irq, vector).unmask();
}

/// A line routed to a vector that its owner masks and unmasks: an edge
/// while it is masked is not delivered (nor kept for later).
#[derive(Clone, Copy, Debug)]
pub struct Route {
    irq: u8,
    vector: u8,
}

impl Route {
    /// Routes `irq` to `vector` as [`route`] does, but masked.
    pub fn masked(irq: u8, vector: u8) -> Self {
        let route = Self { irq, vector };
        write(route.entry() + 1, 0);
        route.mask();
        route
    }

    fn entry(self) -> u32 {
        REDIRECTION_BASE + 2 * self.irq as u32
    }

    /// Lets the line's edges through.
    pub fn unmask(self) {
        write(self.entry(), self.vector as u32);
    }

    /// Stops the line's edges.
    pub fn mask(self) {
        write(self.entry(), MASKED | self.vector as u32);
    }
}
