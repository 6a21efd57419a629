//! Exceptions reflected to a guest: the frame its handler receives.
//!
//! A guest registers a handler per exception vector with
//! `set_trap_handler(vector, handler)`. When it raises that exception (or
//! the hypervisor cannot resolve a page fault it took), the hypervisor pushes
//! an [`ExceptionFrame`] on the guest's current stack (16-byte aligned) and
//! resumes the guest at the handler with `rsp` pointing at the frame. Every
//! register but `rsp`, `rip` and `rflags` keeps the value it had at the
//! fault. The handler returns with the `iret` hypercall, issued with `rsp`
//! pointing at the frame again: the hypervisor restores `rip`, `rflags`,
//! `rsp`, and the `rax`, `rcx` and `r11` that the `syscall` instruction
//! itself clobbers, from the frame (which the handler may have changed).

/// Number of exception vectors a guest can handle.
pub const VECTORS: u64 = 32;
/// The `vector` of a frame pushed for an event upcall (not an exception).
pub const UPCALL_VECTOR: u64 = 32;

/// The `vector` of a frame pushed for a system call: a `syscall` issued in
/// guest-user mode (ABI 1.8).
pub const SYSCALL_VECTOR: u64 = 33;

/// Bit of [`ExceptionFrame::saved_mask`]: the context the frame describes
/// is in guest-user mode. Set by the hypervisor on every entry from
/// guest-user mode; `iret` with it set returns to guest-user mode (ABI 1.8).
pub const USER_MODE: u64 = 1 << 8;

/// Vector of the page fault.
pub const PAGE_FAULT: u64 = 14;
/// Vector of the general-protection fault.
pub const GENERAL_PROTECTION: u64 = 13;

/// IN/OUT: pushed by the hypervisor on exception entry, read back by `iret`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExceptionFrame {
    /// IN/OUT: `rax` at the fault; restored by `iret`.
    pub rax: u64,
    /// IN/OUT: `rcx` at the fault; restored by `iret`.
    pub rcx: u64,
    /// IN/OUT: `r11` at the fault; restored by `iret`.
    pub r11: u64,
    /// IN: the exception vector.
    pub vector: u64,
    /// IN: the error code (0 for vectors without one). For page faults: bit
    /// 0 protection violation, 1 write, 2 user (always set), 3 reserved bit
    /// or frame outside the domain, 4 instruction fetch.
    pub error_code: u64,
    /// IN: the faulting address for page faults (the virtual CR2), else 0.
    pub fault_address: u64,
    /// IN/OUT: where the fault happened; where `iret` resumes.
    pub rip: u64,
    /// IN/OUT: flags at the fault; restored by `iret` (IOPL and IF are
    /// forced by the hypervisor).
    pub rflags: u64,
    /// IN/OUT: stack pointer at the fault; restored by `iret`.
    pub rsp: u64,
    /// IN/OUT: bits 0-7: the virtual interrupt mask (`upcall_mask`) before
    /// entry; entry sets the mask, `iret` restores this value. Bit 8
    /// ([`USER_MODE`]): the context is in guest-user mode. Other bits: 0.
    pub saved_mask: u64,
}

const _: () = {
    assert!(core::mem::size_of::<ExceptionFrame>() == 80);
    assert!(cfg!(target_endian = "little"), "the ABI is little-endian");
    assert!(core::mem::offset_of!(ExceptionFrame, rax) == 0);
    assert!(core::mem::offset_of!(ExceptionFrame, rcx) == 8);
    assert!(core::mem::offset_of!(ExceptionFrame, r11) == 16);
    assert!(core::mem::offset_of!(ExceptionFrame, vector) == 24);
    assert!(core::mem::offset_of!(ExceptionFrame, error_code) == 32);
    assert!(core::mem::offset_of!(ExceptionFrame, fault_address) == 40);
    assert!(core::mem::offset_of!(ExceptionFrame, rip) == 48);
    assert!(core::mem::offset_of!(ExceptionFrame, rflags) == 56);
    assert!(core::mem::offset_of!(ExceptionFrame, rsp) == 64);
};

impl ExceptionFrame {
    /// Whether the frame describes a guest-user context ([`USER_MODE`]).
    pub const fn is_user(&self) -> bool {
        self.saved_mask & USER_MODE != 0
    }

    /// The frame as bytes, for copying to guest memory.
    pub fn to_bytes(&self) -> [u8; 80] {
        // SAFETY: ExceptionFrame is ten u64 fields in a repr(C) struct of
        // exactly 80 bytes (asserted above), with no padding; the ABI is
        // little-endian x86_64, so its bytes are the wire format.
        unsafe { core::mem::transmute::<Self, [u8; 80]>(*self) }
    }

    /// The frame from bytes read out of guest memory.
    pub fn from_bytes(bytes: &[u8; 80]) -> Self {
        // SAFETY: as for to_bytes; every bit pattern is a valid u64.
        unsafe { core::mem::transmute::<[u8; 80], Self>(*bytes) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_bytes_round_trip() {
        let frame = ExceptionFrame {
            rax: 1,
            rcx: 2,
            r11: 3,
            vector: 14,
            error_code: 6,
            fault_address: 0xdead,
            rip: 7,
            rflags: 0x202,
            rsp: 9,
            saved_mask: 0,
        };
        assert_eq!(ExceptionFrame::from_bytes(&frame.to_bytes()), frame);
        assert_eq!(&frame.to_bytes()[48..56], &7u64.to_le_bytes());
    }
}
