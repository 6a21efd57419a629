//! The COM1 16550 UART, the hypervisor's only output device.
//!
//! All output (log lines and guest console lines) goes through [`write`],
//! which holds one lock per call so that lines never interleave.

use spin::Mutex;
use uart_16550::backend::PioBackend;
use uart_16550::{Config, Uart16550};
use x86_64::instructions::port::Port;

const COM1: u16 = 0x3f8;

static PORT: Mutex<Option<Uart16550<PioBackend>>> = Mutex::new(None);

/// Initialises COM1 (115200 8N1). Output before this is dropped.
pub fn init() {
    // SAFETY: COM1 is a standard port on the PC platform QEMU emulates and
    // this is the only code that drives it.
    let Ok(mut uart) = (unsafe { Uart16550::new_port(COM1) }) else {
        return;
    };
    if uart.init(Config::default()).is_ok() {
        *PORT.lock() = Some(uart);
    }
}

/// ISA interrupt line of COM1.
pub const IRQ: u8 = 4;

/// Enables the receive interrupt (IER bit 0; MCR OUT2 gates the line on PCs).
pub fn enable_receive_interrupt() {
    let mut ier = Port::<u8>::new(COM1 + 1);
    let mut mcr = Port::<u8>::new(COM1 + 4);
    // SAFETY: COM1's interrupt-enable and modem-control registers; only
    // this module drives the UART.
    unsafe {
        ier.write(0x01);
        let value = mcr.read();
        mcr.write(value | 0x08);
    }
}

/// Reads every byte the UART has received into `buffer`; returns the count.
pub fn receive(buffer: &mut [u8]) -> usize {
    let mut lsr = Port::<u8>::new(COM1 + 5);
    let mut data = Port::<u8>::new(COM1);
    let mut count = 0;
    // SAFETY: reading the line-status and data registers of COM1; the
    // data register is read only while LSR says a byte is ready.
    unsafe {
        while count < buffer.len() && lsr.read() & 1 != 0 {
            buffer[count] = data.read();
            count += 1;
        }
    }
    count
}

/// Writes every byte of each part, in order, as one unit.
pub fn write(parts: &[&[u8]]) {
    let mut port = PORT.lock();
    if let Some(uart) = port.as_mut() {
        for part in parts {
            uart.send_bytes_exact(part);
        }
    }
}

/// Writes bytes from a context that may have interrupted a holder of the
/// lock (the fatal-fault path): the lock is taken over.
pub fn write_forced(bytes: &[u8]) {
    if PORT.is_locked() {
        // SAFETY: only called on the way to stopping the machine, when the
        // interrupted holder will never run again.
        unsafe { PORT.force_unlock() };
    }
    write(&[bytes]);
}
