//! The virtual CPU state an emulated domain's privileged instructions read
//! and change: descriptor-table registers, CR2, the emulated MSRs, the
//! console UART, and the interrupt flag of a domain that has no
//! shared-information page.
//!
//! What the instructions do with it is [`super::execute`]; the virtual
//! interrupt flag of a domain with a shared page is that page's
//! `upcall_mask`, and its CR3 is its shadow's guest root, both kept where
//! paravirtualized domains keep them.

use shared_abi::emulation::msr;

use super::uart::VirtualUart;

/// A descriptor-table register (`lidt`, `lgdt`, `sidt`, `sgdt`): as in
/// memory, a 16-bit limit then a 64-bit base.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableRegister {
    /// Bytes of the table, minus one.
    pub limit: u16,
    /// Guest-virtual address of the table.
    pub base: u64,
}

/// Bytes of a descriptor-table register in memory.
pub const TABLE_REGISTER_BYTES: usize = 10;

impl TableRegister {
    /// The register as `lidt` reads it from memory.
    pub fn from_bytes(bytes: &[u8; TABLE_REGISTER_BYTES]) -> Self {
        let mut base = [0u8; 8];
        base.copy_from_slice(&bytes[2..]);
        Self {
            limit: u16::from_le_bytes([bytes[0], bytes[1]]),
            base: u64::from_le_bytes(base),
        }
    }

    /// The register as `sidt` stores it.
    pub fn to_bytes(self) -> [u8; TABLE_REGISTER_BYTES] {
        let mut bytes = [0u8; TABLE_REGISTER_BYTES];
        bytes[..2].copy_from_slice(&self.limit.to_le_bytes());
        bytes[2..].copy_from_slice(&self.base.to_le_bytes());
        bytes
    }
}

/// The virtual CPU of an emulated domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VirtualCpu {
    idtr: TableRegister,
    /// Whether `lidt` loaded a table: from then on exceptions and event
    /// upcalls are delivered through it.
    idt_loaded: bool,
    gdtr: TableRegister,
    cr2: u64,
    pat: u64,
    tsc_aux: u32,
    /// The interrupt flag while no shared-information page holds it.
    interrupt_flag: bool,
    uart: VirtualUart,
}

impl Default for VirtualCpu {
    fn default() -> Self {
        Self {
            idtr: TableRegister::default(),
            idt_loaded: false,
            gdtr: TableRegister::default(),
            cr2: 0,
            pat: msr::PAT_RESET,
            tsc_aux: 0,
            interrupt_flag: false,
            uart: VirtualUart::default(),
        }
    }
}

impl VirtualCpu {
    /// The IDT register.
    pub fn idtr(&self) -> TableRegister {
        self.idtr
    }

    /// The virtual IDT, once `lidt` loaded one.
    pub fn idt(&self) -> Option<TableRegister> {
        self.idt_loaded.then_some(self.idtr)
    }

    /// `lidt`.
    pub fn load_idt(&mut self, table: TableRegister) {
        self.idtr = table;
        self.idt_loaded = true;
    }

    /// The GDT register.
    pub fn gdtr(&self) -> TableRegister {
        self.gdtr
    }

    /// `lgdt`: the table is recorded (for `sgdt`) and never used.
    pub fn load_gdt(&mut self, table: TableRegister) {
        self.gdtr = table;
    }

    /// The virtual CR2: the address of the last page fault delivered
    /// through the virtual IDT.
    pub fn cr2(&self) -> u64 {
        self.cr2
    }

    /// Records a page fault's address for `mov reg, cr2`.
    pub fn set_cr2(&mut self, address: u64) {
        self.cr2 = address;
    }

    /// `IA32_PAT`.
    pub fn pat(&self) -> u64 {
        self.pat
    }

    /// Writes `IA32_PAT`: refused (as the CPU refuses it) unless every
    /// entry is a memory type (0, 1, 4, 5, 6 or 7).
    pub fn set_pat(&mut self, value: u64) -> bool {
        let valid = value
            .to_le_bytes()
            .iter()
            .all(|entry| matches!(entry, 0 | 1 | 4..=7));
        if valid {
            self.pat = value;
        }
        valid
    }

    /// `IA32_TSC_AUX`.
    pub fn tsc_aux(&self) -> u32 {
        self.tsc_aux
    }

    /// Writes `IA32_TSC_AUX`: refused if the upper half is not zero.
    pub fn set_tsc_aux(&mut self, value: u64) -> bool {
        match u32::try_from(value) {
            Ok(low) => {
                self.tsc_aux = low;
                true
            }
            Err(_) => false,
        }
    }

    /// The interrupt flag kept here (for a domain without a shared page).
    pub fn interrupt_flag(&self) -> bool {
        self.interrupt_flag
    }

    /// Sets the interrupt flag kept here.
    pub fn set_interrupt_flag(&mut self, enabled: bool) {
        self.interrupt_flag = enabled;
    }

    /// The console UART.
    pub fn uart_mut(&mut self) -> &mut VirtualUart {
        &mut self.uart
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_registers_round_trip_through_memory_form() {
        let table = TableRegister {
            limit: 0x0fff,
            base: 0x0000_7f00_1234_5000,
        };
        let bytes = table.to_bytes();
        assert_eq!(&bytes[..2], &[0xff, 0x0f]);
        assert_eq!(TableRegister::from_bytes(&bytes), table);
        let mut cpu = VirtualCpu::default();
        assert_eq!(cpu.idt(), None);
        cpu.load_idt(table);
        assert_eq!(cpu.idt(), Some(table));
    }

    #[test]
    fn msrs_refuse_what_the_cpu_refuses() {
        let mut cpu = VirtualCpu::default();
        assert_eq!(cpu.pat(), msr::PAT_RESET);
        assert!(!cpu.set_pat(0x0002_0000_0000_0000), "type 2 is reserved");
        assert!(!cpu.set_pat(0x0800_0000_0000_0000), "type 8 is reserved");
        assert!(cpu.set_pat(0x0001_0406_0007_0406));
        assert_eq!(cpu.pat(), 0x0001_0406_0007_0406);
        assert!(!cpu.set_tsc_aux(1 << 32));
        assert!(cpu.set_tsc_aux(7));
        assert_eq!(cpu.tsc_aux(), 7);
    }
}
