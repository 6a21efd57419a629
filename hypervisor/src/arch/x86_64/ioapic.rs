//! The I/O APIC: routes a legacy ISA interrupt line to a vector on this CPU.

use core::sync::atomic::{AtomicBool, AtomicU16, Ordering};

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
/// Trigger-mode bit of a redirection entry's low word: level.
const LEVEL: u32 = 1 << 15;

/// Delivers ISA interrupt `irq` (edge-triggered, active high, as ISA lines
/// are) to `vector` on the CPU with APIC id 0.
pub fn route(irq: u8, vector: u8) {
    write(entry(irq) + 1, 0);
    write(entry(irq), vector as u32);
}

fn entry(irq: u8) -> u32 {
    REDIRECTION_BASE + 2 * irq as u32
}

/// The one-shot line, if one was routed: `irq << 8 | vector`, 0 for none.
static ONE_SHOT: AtomicU16 = AtomicU16::new(0);

/// A level-triggered line (a PCI device's) whose interrupt masks it: its
/// owner unmasks it to hear of the next event, and the interrupt handler
/// ([`interrupted`]) masks it again, so that a line the device keeps
/// asserting until it is acknowledged neither floods the CPU nor is
/// missed (unmasking a line that is already asserted delivers it at once,
/// as a level line should).
#[derive(Clone, Copy, Debug)]
pub struct OneShot {
    irq: u8,
    vector: u8,
}

impl OneShot {
    /// Routes `irq` to `vector`, masked. There is one such line.
    pub fn route(irq: u8, vector: u8) -> Self {
        let line = Self { irq, vector };
        write(entry(irq) + 1, 0);
        line.mask();
        ONE_SHOT.store(u16::from(irq) << 8 | u16::from(vector), Ordering::SeqCst);
        line
    }

    /// Lets the line's next interrupt through (at once if it is asserted).
    pub fn unmask(self) {
        write(entry(self.irq), LEVEL | self.vector as u32);
    }

    /// Holds the line's interrupts back.
    pub fn mask(self) {
        write(entry(self.irq), MASKED | LEVEL | self.vector as u32);
    }
}

/// Whether the one-shot line interrupted since [`take_interrupted`] last
/// looked.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Called by the interrupt handler for `vector` (before the EOI): masks
/// the one-shot line if that is what interrupted, and notes it.
pub fn interrupted(vector: u8) {
    let line = ONE_SHOT.load(Ordering::SeqCst);
    if line != 0 && line as u8 == vector {
        OneShot {
            irq: (line >> 8) as u8,
            vector,
        }
        .mask();
        INTERRUPTED.store(true, Ordering::SeqCst);
    }
}

/// Whether the one-shot line interrupted since the last look (and forgets
/// it): how the owner of a line it does not wait for itself hears of it.
pub fn take_interrupted() -> bool {
    INTERRUPTED.swap(false, Ordering::SeqCst)
}
