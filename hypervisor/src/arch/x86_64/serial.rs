//! The COM1 16550 UART, the hypervisor's only output device.
//!
//! All output (log lines and guest console lines) goes through [`write`],
//! which holds one lock per call so that lines never interleave.

use spin::Mutex;
use uart_16550::Uart16550;
use uart_16550::backend::PioBackend;
use x86_64::instructions::port::Port;

const COM1: u16 = 0x3f8;

static PORT: Mutex<Option<Uart16550<PioBackend>>> = Mutex::new(None);

/// Initialises COM1: 115200 baud, 8N1, OUT2 set (the PC's interrupt
/// gate), FIFOs off. Output before this is dropped.
///
/// QEMU starts feeding console input at power-on, and none of it may be
/// lost, so the registers are programmed here rather than by the driver
/// crate's `init` (which drains the receiver), bytes already received are
/// handed to the console first, and the FIFOs stay off: changing the FIFO
/// mode clears them, and with them off QEMU holds further input until the
/// one-byte receive buffer is read.
pub fn init() {
    let mut early = [0u8; 16];
    let received = receive(&mut early);
    crate::console::uart_input(&early[..received]);
    let register = |offset: u16, value: u8| {
        let mut port = Port::<u8>::new(COM1 + offset);
        // SAFETY: COM1's configuration registers; only this module drives
        // the UART.
        unsafe { port.write(value) };
    };
    register(1, 0x00); // IER: no interrupts yet
    register(3, 0x80); // LCR: divisor latch
    register(0, 0x01); // DLL: 115200 baud
    register(1, 0x00); // DLM
    register(3, 0x03); // LCR: 8 data bits, no parity, 1 stop bit
    register(2, 0x00); // FCR: FIFOs off
    register(4, 0x0b); // MCR: DTR, RTS, OUT2
    // SAFETY: COM1 exists on the PC platform QEMU emulates and this is the
    // only code that drives it.
    if let Ok(uart) = unsafe { Uart16550::new_port(COM1) } {
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
