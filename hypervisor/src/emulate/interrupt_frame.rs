//! The virtual IDT's formats: its 16-byte gate descriptors, and the frame
//! an interrupt pushes and `iretq` pops, as the CPU lays them out in
//! 64-bit mode.
//!
//! ```text
//!  gate descriptor (16 bytes)           frame (growing down from the old
//!   0  offset 15..0                      stack, aligned down to 16 bytes)
//!   2  selector (ignored)                 +32  ss
//!   4  IST (ignored), type/DPL/P          +24  rsp
//!   6  offset 31..16                      +16  rflags
//!   8  offset 63..32                      +8   cs
//!  12  reserved                           +0   rip     <- rsp (no error code)
//!                                         -8   error code (vectors that have one)
//! ```

pub use shared_abi::emulation::GATE_BYTES;
use shared_abi::emulation::{VIRTUAL_KERNEL_CS, VIRTUAL_KERNEL_SS};

use super::virtual_cpu::TableRegister;
use crate::mm::address::is_guest_address;

/// Bytes of the frame `iretq` pops.
pub const FRAME_BYTES: usize = 40;

/// Present bit of a gate's type byte.
const PRESENT: u8 = 0x80;
/// Gate types: 64-bit interrupt gate, 64-bit trap gate.
const INTERRUPT_GATE: u8 = 0x0e;
const TRAP_GATE: u8 = 0x0f;

/// A usable gate of the virtual IDT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gate {
    /// Where the handler starts.
    pub handler: u64,
    /// An interrupt gate clears the interrupt flag on entry; a trap gate
    /// leaves it.
    pub clears_interrupts: bool,
}

/// The guest-virtual address of `vector`'s gate, if the table's limit
/// covers all of it.
pub fn gate_address(idt: TableRegister, vector: u8) -> Option<u64> {
    let offset = vector as u64 * GATE_BYTES as u64;
    (offset + GATE_BYTES as u64 - 1 <= idt.limit as u64).then(|| idt.base.wrapping_add(offset))
}

/// The gate in `bytes`, if it is present, of an interrupt or trap type,
/// and names a lower-half handler.
pub fn gate(bytes: &[u8; GATE_BYTES]) -> Option<Gate> {
    let attributes = bytes[5];
    if attributes & PRESENT == 0 {
        return None;
    }
    let clears_interrupts = match attributes & 0x0f {
        INTERRUPT_GATE => true,
        TRAP_GATE => false,
        _ => return None,
    };
    let handler = u16::from_le_bytes([bytes[0], bytes[1]]) as u64
        | (u16::from_le_bytes([bytes[6], bytes[7]]) as u64) << 16
        | (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as u64) << 32;
    is_guest_address(handler).then_some(Gate {
        handler,
        clears_interrupts,
    })
}

/// An interrupt frame: what the interrupted context resumes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterruptFrame {
    /// Where it resumes.
    pub rip: u64,
    /// Code selector.
    pub cs: u64,
    /// Flags, with IF the virtual interrupt flag.
    pub rflags: u64,
    /// Stack pointer.
    pub rsp: u64,
    /// Stack selector.
    pub ss: u64,
}

impl InterruptFrame {
    /// The frame of a kernel context interrupted at `rip` with `rsp` and
    /// `rflags`.
    pub fn kernel(rip: u64, rflags: u64, rsp: u64) -> Self {
        Self {
            rip,
            cs: VIRTUAL_KERNEL_CS as u64,
            rflags,
            rsp,
            ss: VIRTUAL_KERNEL_SS as u64,
        }
    }

    /// Where the frame goes below a stack at `rsp`, and its bytes (the
    /// first `len` of them), with `error_code` below it if the vector has
    /// one. `None` if the stack pointer would wrap.
    pub fn push(&self, error_code: Option<u64>) -> Option<(u64, [u8; FRAME_BYTES + 8], usize)> {
        let words: [u64; 6] = [
            error_code.unwrap_or(0),
            self.rip,
            self.cs,
            self.rflags,
            self.rsp,
            self.ss,
        ];
        let skip = usize::from(error_code.is_none());
        let len = (words.len() - skip) * 8;
        let top = (self.rsp & !0xf).checked_sub(len as u64)?;
        let mut bytes = [0u8; FRAME_BYTES + 8];
        for (index, word) in words[skip..].iter().enumerate() {
            bytes[index * 8..index * 8 + 8].copy_from_slice(&word.to_le_bytes());
        }
        Some((top, bytes, len))
    }

    /// The frame `iretq` pops from `bytes`.
    pub fn from_bytes(bytes: &[u8; FRAME_BYTES]) -> Self {
        let word = |index: usize| {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&bytes[index * 8..index * 8 + 8]);
            u64::from_le_bytes(raw)
        };
        Self {
            rip: word(0),
            cs: word(1),
            rflags: word(2),
            rsp: word(3),
            ss: word(4),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_abi::emulation::gate as encode_gate;

    #[test]
    fn gates_decode_as_encoded_and_refuse_the_rest() {
        let handler = 0x0000_1234_5678_9abc;
        assert_eq!(
            gate(&encode_gate(handler, true)),
            Some(Gate {
                handler,
                clears_interrupts: true
            })
        );
        assert!(
            !gate(&encode_gate(handler, false))
                .unwrap()
                .clears_interrupts
        );
        let mut absent = encode_gate(handler, true);
        absent[5] &= !PRESENT;
        assert_eq!(gate(&absent), None);
        let mut call_gate = encode_gate(handler, true);
        call_gate[5] = PRESENT | 0x0c;
        assert_eq!(gate(&call_gate), None);
        assert_eq!(gate(&encode_gate(0xffff_8000_0000_1000, true)), None);
    }

    #[test]
    fn gate_addresses_respect_the_limit() {
        let idt = TableRegister {
            limit: 33 * 16 - 1,
            base: 0x1000,
        };
        assert_eq!(gate_address(idt, 0), Some(0x1000));
        assert_eq!(gate_address(idt, 32), Some(0x1200));
        assert_eq!(gate_address(idt, 33), None);
        let short = TableRegister {
            limit: 16 * 14 + 14,
            base: 0,
        };
        assert_eq!(gate_address(short, 14), None, "one byte short");
    }

    #[test]
    fn frames_push_aligned_and_pop_back() {
        let frame = InterruptFrame::kernel(0x40_1000, 0x246, 0x7000_0008);
        let (top, bytes, len) = frame.push(Some(0x13)).unwrap();
        assert_eq!((top, len), (0x7000_0000 - 48, 48));
        assert_eq!(&bytes[..8], &0x13u64.to_le_bytes());
        let popped = InterruptFrame::from_bytes(bytes[8..48].try_into().unwrap());
        assert_eq!(popped, frame);
        let (top, bytes, len) = frame.push(None).unwrap();
        assert_eq!((top, len), (0x7000_0000 - 40, 40));
        assert_eq!(
            InterruptFrame::from_bytes(bytes[..40].try_into().unwrap()),
            frame
        );
        assert_eq!(InterruptFrame::kernel(0, 0, 16).push(None), None);
    }
}
