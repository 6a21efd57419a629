//! The COM1 16550 UART, the hypervisor's only output device.
//!
//! All output (log lines and guest console lines) goes through [`write`],
//! which holds one lock per call so that lines never interleave.

use spin::Mutex;
use uart_16550::backend::PioBackend;
use uart_16550::{Config, Uart16550};

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
