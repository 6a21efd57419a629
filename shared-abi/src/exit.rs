//! The hypervisor's exit status, as seen by whoever started QEMU.
//!
//! The hypervisor ends QEMU by writing `EXIT_BASE | status` to the
//! `isa-debug-exit` device at [`DEBUG_EXIT_PORT`]; QEMU then exits with
//! `(value << 1) | 1`. [`HvExit::from_qemu_status`] undoes that mapping.

/// I/O port of QEMU's `isa-debug-exit` device (`iobase=0xf4,iosize=0x04`).
pub const DEBUG_EXIT_PORT: u16 = 0xf4;
/// Added to every status so that QEMU's own exit codes (0, 1) never collide.
pub const EXIT_BASE: u32 = 0x10;

/// Why the hypervisor stopped.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HvExit {
    /// Every domain shut down with code 0.
    Success = 0,
    /// At least one domain shut down with a non-zero code, was stopped for
    /// misbehaving, or its image was rejected.
    DomainFailed = 1,
    /// The hypervisor itself faulted or panicked.
    HypervisorFault = 2,
    /// No domain could be started (no bundle, or every image rejected).
    NoDomains = 3,
}

impl HvExit {
    /// The value the hypervisor writes to [`DEBUG_EXIT_PORT`].
    pub fn port_value(self) -> u32 {
        EXIT_BASE | self as u32
    }

    /// The process exit code QEMU reports for this status.
    pub fn qemu_status(self) -> i32 {
        ((self.port_value() << 1) | 1) as i32
    }

    /// Decodes QEMU's exit code; `None` when QEMU exited for another reason.
    pub fn from_qemu_status(code: i32) -> Option<HvExit> {
        [
            HvExit::Success,
            HvExit::DomainFailed,
            HvExit::HypervisorFault,
            HvExit::NoDomains,
        ]
        .into_iter()
        .find(|exit| exit.qemu_status() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_codes_round_trip() {
        assert_eq!(HvExit::Success.qemu_status(), 33);
        for exit in [
            HvExit::Success,
            HvExit::DomainFailed,
            HvExit::HypervisorFault,
        ] {
            assert_eq!(HvExit::from_qemu_status(exit.qemu_status()), Some(exit));
        }
        assert_eq!(HvExit::from_qemu_status(0), None);
        assert_eq!(HvExit::from_qemu_status(1), None);
    }
}
