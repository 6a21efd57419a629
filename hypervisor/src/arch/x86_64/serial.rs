//! The 16550 UARTs: COM1, the hypervisor's log and console device, and
//! COM2, the debugger's line when QEMU provides one.
//!
//! All output (log lines and guest console lines) goes through [`write`],
//! which holds one lock per call so that lines never interleave.
//!
//! The UART is programmed by the `uart_16550` driver's own `init`, with the
//! FIFOs off, so the driver and the device agree that the transmitter holds
//! one byte: the driver then writes one byte per transmitter-empty check and
//! never overwrites a byte the host has not taken yet, however slowly the
//! host reads. FIFOs stay off for input too: QEMU then holds further input
//! until the one-byte receive buffer is read, so none is dropped.
//!
//! QEMU feeds console input from power-on, and the driver's `init` discards
//! received bytes twice: it resets the receiver through the FIFO control
//! register (which, with FIFOs off, empties the receive buffer) and then
//! reads and drops what is left. [`KeepInput`] sits between the driver and
//! the port: it leaves the receiver reset out (without FIFOs it has no other
//! effect) and keeps what `init` reads from the data register, and [`init`]
//! hands those bytes to the caller.

use uart_16550::backend::Backend;
use uart_16550::{BaudRate, Config, Uart16550};

/// The line settings: 115200 baud, 8N1, no FIFOs, no interrupts yet.
pub const CONFIG: Config = Config {
    baud_rate: BaudRate::Baud115200,
    fifo_trigger_level: None,
    ..Config::DEFAULT
};

/// Register offsets this module watches.
const DATA: u8 = 0;
const FCR: u8 = 2;
const LCR: u8 = 3;
/// FCR: FIFOs enabled.
const FCR_ENABLE: u8 = 0x01;
/// FCR: reset the receiver (the receive buffer, without FIFOs).
const FCR_RECEIVER_RESET: u8 = 0x02;
const LCR_DLAB: u8 = 0x80;
/// Most received bytes kept while the driver initialises the UART (without
/// FIFOs the device holds one at a time; the driver reads at most 17).
const KEPT_MAX: usize = 32;

/// A backend that never lets received bytes be thrown away: it records
/// data-register reads while `keeping` is set, so that bytes the driver
/// drains during `init` are not lost, and drops the receiver-reset bit from
/// FIFO-control writes that leave the FIFOs off.
#[derive(Debug)]
pub struct KeepInput<B> {
    inner: B,
    divisor_latch: bool,
    keeping: bool,
    kept: [u8; KEPT_MAX],
    kept_len: usize,
}

impl<B> KeepInput<B> {
    /// Wraps `inner`, keeping received bytes until [`Self::take_kept`].
    pub const fn new(inner: B) -> Self {
        Self {
            inner,
            divisor_latch: false,
            keeping: true,
            kept: [0; KEPT_MAX],
            kept_len: 0,
        }
    }

    /// Stops keeping and returns the bytes kept so far.
    pub fn take_kept(&mut self) -> ([u8; KEPT_MAX], usize) {
        self.keeping = false;
        let kept = (self.kept, self.kept_len);
        self.kept_len = 0;
        kept
    }
}

// Inlined: the driver calls these for every register access of every byte.
impl<B: Backend> Backend for KeepInput<B> {
    #[inline]
    unsafe fn read(&mut self, register_offset: u8) -> u8 {
        // SAFETY: forwarded from the caller.
        let value = unsafe { self.inner.read(register_offset) };
        if self.keeping
            && register_offset == DATA
            && !self.divisor_latch
            && self.kept_len < KEPT_MAX
        {
            self.kept[self.kept_len] = value;
            self.kept_len += 1;
        }
        value
    }

    #[inline]
    unsafe fn write(&mut self, register_offset: u8, mut value: u8) {
        if register_offset == LCR {
            self.divisor_latch = value & LCR_DLAB != 0;
        }
        if register_offset == FCR && value & FCR_ENABLE == 0 {
            value &= !FCR_RECEIVER_RESET;
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.write(register_offset, value) }
    }
}

/// Programs the UART behind `backend` with [`CONFIG`]; returns the driver
/// and every byte that had already been received.
pub fn configure<B: Backend>(backend: B) -> Option<(Uart16550<KeepInput<B>>, KeptBytes)> {
    // SAFETY: the caller hands over a backend for a whole 16550's registers.
    let mut uart = unsafe { Uart16550::new_with_backend(KeepInput::new(backend)) };
    uart.init(CONFIG).ok()?;
    let (bytes, len) = uart.backend_mut().take_kept();
    Some((uart, KeptBytes { bytes, len }))
}

/// Bytes received before the UART was configured.
#[derive(Clone, Copy, Debug)]
pub struct KeptBytes {
    bytes: [u8; KEPT_MAX],
    len: usize,
}

impl KeptBytes {
    /// The bytes, oldest first.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[cfg(target_os = "none")]
pub use ports::*;

#[cfg(target_os = "none")]
mod ports {
    use spin::Mutex;
    use uart_16550::Uart16550;
    use uart_16550::backend::PioBackend;
    use uart_16550::spec::registers::IER;

    use super::{KeepInput, KeptBytes, configure};

    /// ISA interrupt line of COM1.
    pub const IRQ: u8 = 4;

    /// One 16550 at an I/O port base, programmed with [`super::CONFIG`].
    pub struct SerialPort {
        base: u16,
        uart: Mutex<Option<Uart16550<KeepInput<PioBackend>>>>,
    }

    /// COM1: the hypervisor's log and the guests' consoles.
    static COM1: SerialPort = SerialPort::new(0x3f8);

    /// COM2: the line a debugger talks to (present only when QEMU is given
    /// a second serial port).
    pub static COM2: SerialPort = SerialPort::new(0x2f8);

    impl SerialPort {
        const fn new(base: u16) -> Self {
            Self {
                base,
                uart: Mutex::new(None),
            }
        }

        /// Programs the UART (see the module's documentation); `None` if
        /// there is none at this base. Returns the input that arrived before.
        pub fn init(&self) -> Option<KeptBytes> {
            // SAFETY: the PC platform QEMU emulates decodes these ports as
            // a 16550 (or as nothing, which the driver's checks then report)
            // and this port's lock is the only code that drives it.
            let pio = *unsafe { Uart16550::new_port(self.base) }.ok()?.backend();
            let (uart, kept) = configure(pio)?;
            *self.uart.lock() = Some(uart);
            Some(kept)
        }

        /// Reads every byte the UART has received into `buffer`; returns
        /// the count.
        pub fn receive(&self, buffer: &mut [u8]) -> usize {
            self.uart
                .lock()
                .as_mut()
                .map_or(0, |uart| uart.receive_bytes(buffer))
        }

        /// Writes every byte of each part, in order, as one unit.
        pub fn write(&self, parts: &[&[u8]]) {
            let mut port = self.uart.lock();
            if let Some(uart) = port.as_mut() {
                for part in parts {
                    uart.send_bytes_exact(part);
                }
            }
        }
    }

    /// Initialises COM1 (see the module's documentation). Output before this
    /// is dropped. Returns the input that arrived before it, for the console.
    pub fn init() -> Option<KeptBytes> {
        COM1.init()
    }

    /// Enables COM1's receive interrupt (OUT2, which gates the line on PCs,
    /// is set by the driver's `init`).
    pub fn enable_receive_interrupt() {
        if let Some(uart) = COM1.uart.lock().as_mut() {
            uart.enable_interrupts(IER::DATA_READY);
        }
    }

    /// Reads every byte COM1 has received into `buffer`; returns the count.
    pub fn receive(buffer: &mut [u8]) -> usize {
        COM1.receive(buffer)
    }

    /// Writes every byte of each part to COM1, in order, as one unit.
    pub fn write(parts: &[&[u8]]) {
        COM1.write(parts)
    }

    /// Writes bytes to COM1 from a context that may have interrupted a
    /// holder of the lock (the fatal-fault path): the lock is taken over.
    pub fn write_forced(bytes: &[u8]) {
        if COM1.uart.is_locked() {
            // SAFETY: only called on the way to stopping the machine, when the
            // interrupted holder will never run again.
            unsafe { COM1.uart.force_unlock() };
        }
        write(&[bytes]);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::collections::VecDeque;
    use std::vec::Vec;

    /// A 16550 without FIFOs on a slow line: the transmitter holds one byte
    /// and the host takes it only every `slowness` status reads. A byte
    /// written while one is still held overwrites it, as on QEMU's UART.
    struct SlowUart {
        scratch: u8,
        lcr: u8,
        held: Option<u8>,
        slowness: u32,
        reads_left: u32,
        line: Vec<u8>,
        overwritten: usize,
        input: VecDeque<u8>,
    }

    impl SlowUart {
        fn new(slowness: u32, input: &[u8]) -> Self {
            Self {
                scratch: 0,
                lcr: 0,
                held: None,
                slowness,
                reads_left: slowness,
                line: Vec::new(),
                overwritten: 0,
                input: input.iter().copied().collect(),
            }
        }
    }

    impl Backend for &mut SlowUart {
        unsafe fn read(&mut self, offset: u8) -> u8 {
            match offset {
                0 if self.lcr & LCR_DLAB == 0 => self.input.pop_front().unwrap_or(0),
                2 => 0x01, // ISR: nothing pending, no FIFOs
                5 => {
                    if let Some(byte) = self.held {
                        self.reads_left -= 1;
                        if self.reads_left == 0 {
                            self.line.push(byte);
                            self.held = None;
                            self.reads_left = self.slowness;
                        }
                    }
                    let ready = u8::from(!self.input.is_empty());
                    let empty = if self.held.is_none() { 0x60 } else { 0 };
                    ready | empty
                }
                7 => self.scratch,
                _ => 0,
            }
        }

        unsafe fn write(&mut self, offset: u8, value: u8) {
            match offset {
                0 if self.lcr & LCR_DLAB == 0 => {
                    let was_held = self.held.replace(value).is_some();
                    self.overwritten += usize::from(was_held);
                }
                2 if value & FCR_RECEIVER_RESET != 0 => self.input.clear(),
                3 => self.lcr = value,
                7 => self.scratch = value,
                _ => {}
            }
        }
    }

    #[test]
    fn a_slow_host_loses_no_output() {
        let mut device = SlowUart::new(7, b"");
        let (mut uart, _) = configure(&mut device).expect("the fake answers");
        let text: Vec<u8> = (0..4000u32).map(|i| b'a' + (i % 26) as u8).collect();
        uart.send_bytes_exact(&text);
        // Let the last byte go out.
        for _ in 0..8 {
            let _ = uart.lsr();
        }
        assert_eq!(device.overwritten, 0);
        assert_eq!(device.line, text);
    }

    #[test]
    fn input_received_before_configuration_is_kept() {
        let mut device = SlowUart::new(1, b"ls\n");
        let (_, kept) = configure(&mut device).expect("the fake answers");
        assert_eq!(kept.as_slice(), b"ls\n");
    }
}
