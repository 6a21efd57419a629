//! The emulator behind trap-and-emulate and in-place patching: how a
//! domain in an emulating execution mode (`shared_abi::emulation::Mode`)
//! runs the privileged instructions of an unmodified kernel. It knows no
//! domain: `crate::trap_emulate` runs it against one when it faults.
//!
//! Such an instruction runs for real in ring 3 and faults (general
//! protection). [`operation`] decodes it, [`execute`] performs it against
//! the domain's [`virtual_cpu`] and memory (through [`machine`]), and the
//! guest resumes after it. In patch mode the instruction is then
//! rewritten in place to a one-byte `int3` and recorded ([`patch`]): its
//! later executions enter the hypervisor through the breakpoint trap and
//! run the recorded operation with no fetch or decode. Anything the
//! virtual CPU does not do leaves the fault as it was: reflected to the
//! guest's handler, or stopping the domain, as for a paravirtualized one.
//!
//! [`interrupt_frame`] holds the formats of the virtual IDT a guest loads
//! with `lidt`: once it has one, exceptions and event upcalls are
//! delivered through it with the frame the CPU would push (the domain's
//! `virtual_idt`), and the guest returns with `iretq`.

pub mod execute;
pub mod interrupt_frame;
pub mod machine;
pub mod operation;
pub mod patch;
pub mod registers;
pub mod uart;
pub mod virtual_cpu;

use shared_abi::emulation::Mode;

use patch::PatchTable;
use virtual_cpu::VirtualCpu;

/// What a domain in an emulating mode keeps beyond a paravirtualized one:
/// its mode, its virtual CPU and its patches.
#[derive(Clone, Debug)]
pub struct Emulation {
    mode: Mode,
    cpu: VirtualCpu,
    patches: PatchTable,
}

impl Emulation {
    /// A fresh virtual CPU (interrupts off, no IDT loaded) in `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            cpu: VirtualCpu::default(),
            patches: PatchTable::default(),
        }
    }

    /// The execution mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The virtual CPU.
    pub fn cpu(&self) -> &VirtualCpu {
        &self.cpu
    }

    /// The virtual CPU, to change.
    pub fn cpu_mut(&mut self) -> &mut VirtualCpu {
        &mut self.cpu
    }

    /// The patches.
    pub fn patches(&self) -> &PatchTable {
        &self.patches
    }

    /// The patches, to change.
    pub fn patches_mut(&mut self) -> &mut PatchTable {
        &mut self.patches
    }
}
