//! Ending the QEMU process through the `isa-debug-exit` device.

use shared_abi::exit::{DEBUG_EXIT_PORT, HvExit};
use x86_64::instructions::port::Port;

use super::cpu;

/// Exits QEMU with `status`. If the device is absent (another machine),
/// the CPU is halted instead.
pub fn exit(status: HvExit) -> ! {
    let mut port = Port::<u32>::new(DEBUG_EXIT_PORT);
    // SAFETY: writing to the debug-exit port has no effect but ending QEMU;
    // without the device the write is ignored.
    unsafe { port.write(status.port_value()) };
    cpu::halt_forever()
}
