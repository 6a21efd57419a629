//! The legacy 8259 PICs: remapped away from the exception vectors and fully
//! masked, so that no stray legacy interrupt reaches the hypervisor.

use x86_64::instructions::port::Port;

/// Remaps the PICs to vectors 0x20..0x30 and masks every line.
pub fn disable() {
    let mut master_command = Port::<u8>::new(0x20);
    let mut master_data = Port::<u8>::new(0x21);
    let mut slave_command = Port::<u8>::new(0xa0);
    let mut slave_data = Port::<u8>::new(0xa1);
    // SAFETY: the standard ICW1-4 initialisation sequence on the PIC ports,
    // followed by masking all lines; no other code uses these ports.
    unsafe {
        master_command.write(0x11);
        slave_command.write(0x11);
        master_data.write(0x20);
        slave_data.write(0x28);
        master_data.write(4);
        slave_data.write(2);
        master_data.write(1);
        slave_data.write(1);
        master_data.write(0xff);
        slave_data.write(0xff);
    }
}
