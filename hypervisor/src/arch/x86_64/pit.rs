//! The legacy 8254 PIT. Channel 2 calibrates the APIC timer (see `apic`);
//! channel 0, which the firmware leaves ticking at 18.2 Hz, is stopped, so
//! that no periodic timer runs behind the APIC's back (under `-icount
//! ... sleep=off` a halted CPU's clock would warp to each of its ticks).

use x86_64::instructions::port::Port;

/// Channel 0, low then high count byte, mode 0 (interrupt on terminal
/// count: it counts down once and then stays idle), binary.
const CHANNEL0_ONE_SHOT: u8 = 0b0011_0000;

/// Reprograms channel 0 to count down once from 1 and then stay idle. Its
/// output goes to PIC and I/O APIC lines the hypervisor keeps masked.
pub fn stop_channel0() {
    let mut command = Port::<u8>::new(0x43);
    let mut channel0 = Port::<u8>::new(0x40);
    // SAFETY: the standard mode-setting sequence on the PIT's command and
    // channel 0 ports; nothing else uses channel 0.
    unsafe {
        command.write(CHANNEL0_ONE_SHOT);
        channel0.write(1);
        channel0.write(0);
    }
}
