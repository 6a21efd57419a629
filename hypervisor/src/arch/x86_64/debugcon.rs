//! QEMU's debug console (`-debugcon`, I/O port 0xe9): a byte sink the
//! host saves to a file, used to hand bulk output (the trace) to the
//! host without going through the guests' console.

use x86_64::instructions::port::PortWriteOnly;

/// The port QEMU's `isa-debugcon` listens on by default.
const PORT: u16 = 0xe9;

/// Writes `bytes` to the debug console (dropped by QEMU when the machine
/// has none).
pub fn write(bytes: &[u8]) {
    let mut port = PortWriteOnly::<u8>::new(PORT);
    for &byte in bytes {
        // SAFETY: port 0xe9 is QEMU's debug console or nothing; writing it
        // has no effect on the machine's state.
        unsafe { port.write(byte) };
    }
}
