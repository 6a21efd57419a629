//! The console an emulated domain reaches with `in` and `out`: a 16550
//! UART at COM1's ports, always ready to send, with nothing to receive.
//!
//! A native serial driver programs the line (divisor, line control, FIFO
//! control), polls the line status register until the transmitter is
//! empty and writes each byte to the transmit register. Here the line
//! status always says "transmitter empty", bytes written to the transmit
//! register go to the domain's console (the early console's line
//! discipline: prefixed lines, control characters shown as `?`), and the
//! other registers keep what was written so that reading them back gives
//! it. No interrupt is ever raised; the receive register reads 0.

/// The UART's eight registers, as offsets from its base port.
mod offset {
    pub const DATA: u16 = 0;
    pub const INTERRUPT_ENABLE: u16 = 1;
    pub const INTERRUPT_ID: u16 = 2;
    pub const LINE_CONTROL: u16 = 3;
    pub const MODEM_CONTROL: u16 = 4;
    pub const LINE_STATUS: u16 = 5;
    pub const MODEM_STATUS: u16 = 6;
    pub const SCRATCH: u16 = 7;
}

/// Registers the UART has (ports `base..base + REGISTERS`).
pub const REGISTERS: u16 = 8;

/// Line control: the divisor latch replaces the data and interrupt-enable
/// registers.
const DIVISOR_LATCH: u8 = 0x80;
/// Line status: transmit holding register empty, transmitter empty.
const TRANSMITTER_EMPTY: u8 = 0x60;
/// Interrupt identification: no interrupt pending.
const NO_INTERRUPT: u8 = 0x01;
/// Modem status: clear to send, data set ready, carrier detect.
const MODEM_READY: u8 = 0xb0;

/// The UART's programmable state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VirtualUart {
    interrupt_enable: u8,
    line_control: u8,
    modem_control: u8,
    scratch: u8,
    divisor: u16,
}

impl VirtualUart {
    /// Writes `value` to the register at `offset`; returns the byte sent,
    /// if this was a write to the transmit register.
    pub fn write(&mut self, offset: u16, value: u8) -> Option<u8> {
        let latch = self.line_control & DIVISOR_LATCH != 0;
        match offset {
            offset::DATA if latch => self.divisor = (self.divisor & 0xff00) | value as u16,
            offset::DATA => return Some(value),
            offset::INTERRUPT_ENABLE if latch => {
                self.divisor = (self.divisor & 0x00ff) | (value as u16) << 8
            }
            offset::INTERRUPT_ENABLE => self.interrupt_enable = value & 0x0f,
            offset::LINE_CONTROL => self.line_control = value,
            offset::MODEM_CONTROL => self.modem_control = value & 0x1f,
            offset::SCRATCH => self.scratch = value,
            // FIFO control, line and modem status: nothing to keep.
            _ => {}
        }
        None
    }

    /// Reads the register at `offset`.
    pub fn read(&self, offset: u16) -> u8 {
        let latch = self.line_control & DIVISOR_LATCH != 0;
        match offset {
            offset::DATA if latch => self.divisor as u8,
            offset::INTERRUPT_ENABLE if latch => (self.divisor >> 8) as u8,
            offset::INTERRUPT_ENABLE => self.interrupt_enable,
            offset::INTERRUPT_ID => NO_INTERRUPT,
            offset::LINE_CONTROL => self.line_control,
            offset::MODEM_CONTROL => self.modem_control,
            offset::LINE_STATUS => TRANSMITTER_EMPTY,
            offset::MODEM_STATUS => MODEM_READY,
            offset::SCRATCH => self.scratch,
            // The receive buffer: nothing ever arrives.
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_native_driver_sees_a_ready_line_and_its_bytes_go_out() {
        let mut uart = VirtualUart::default();
        // 115200 baud, 8N1, FIFOs on: what a driver's init writes.
        assert_eq!(uart.write(offset::INTERRUPT_ENABLE, 0), None);
        assert_eq!(uart.write(offset::LINE_CONTROL, 0x80), None);
        assert_eq!(uart.write(offset::DATA, 1), None, "divisor, not data");
        assert_eq!(uart.write(offset::INTERRUPT_ENABLE, 0), None);
        assert_eq!(
            (uart.read(offset::DATA), uart.read(offset::INTERRUPT_ENABLE)),
            (1, 0)
        );
        assert_eq!(uart.write(offset::LINE_CONTROL, 0x03), None);
        assert_eq!(uart.write(offset::INTERRUPT_ID, 0xc7), None);
        assert_eq!(uart.read(offset::LINE_CONTROL), 0x03);
        assert_eq!(uart.read(offset::LINE_STATUS) & 0x20, 0x20, "ready to send");
        assert_eq!(uart.write(offset::DATA, b'A'), Some(b'A'));
        assert_eq!(uart.read(offset::DATA), 0, "nothing received");
        assert_eq!(uart.read(offset::INTERRUPT_ID), NO_INTERRUPT);
        uart.write(offset::SCRATCH, 0x5a);
        assert_eq!(uart.read(offset::SCRATCH), 0x5a);
    }
}
