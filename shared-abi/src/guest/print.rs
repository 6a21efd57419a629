//! [`print!`](crate::print) and [`println!`](crate::println): on the split
//! console while it is connected to the console server
//! ([`console::init`](super::console::init)), on the early hypercall
//! console before that and without a server, so they work from the first
//! line of a guest.
//!
//! Formatted text is gathered in a small stack buffer and written a
//! buffer-full at a time, so a line on the early console costs one
//! hypercall and on the split console usually none. The terminal (the
//! console server's, or the hypervisor's without one) prefixes each line
//! with the domain's name. Output on the split console
//! may still be in its ring when the domain ends: end with
//! [`exit`](super::exit), which flushes it, rather than `shutdown`.

use core::fmt::{self, Write};

/// A `fmt::Write` sink that batches bytes into hypercalls.
pub struct Console {
    buffer: [u8; 256],
    len: usize,
}

impl Console {
    /// An empty console buffer.
    pub const fn new() -> Self {
        Self {
            buffer: [0; 256],
            len: 0,
        }
    }

    /// Sends what is buffered.
    pub fn flush(&mut self) {
        if self.len > 0 {
            super::console::write(&self.buffer[..self.len]);
            self.len = 0;
        }
    }
}

impl Default for Console {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for Console {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for &byte in text.as_bytes() {
            if self.len == self.buffer.len() {
                self.flush();
            }
            self.buffer[self.len] = byte;
            self.len += 1;
        }
        Ok(())
    }
}

/// Formats `args` to the console in one go (what `print!` calls).
pub fn print(args: fmt::Arguments<'_>) {
    let mut console = Console::new();
    let _ = console.write_fmt(args);
    console.flush();
}

/// Prints to the guest's console (split once attached, early before),
/// like `std::print!` (feature `guest`).
///
/// ```no_run
/// shared_abi::print!("{} + {} = ", 1, 2);
/// shared_abi::println!("{}", 1 + 2);
/// ```
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::guest::print::print(format_args!($($arg)*)) };
}

/// Prints a line to the guest's console, like `std::println!` (feature
/// `guest`; see [`print!`](crate::print)).
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::guest::print::print(format_args!("{}\n", format_args!($($arg)*))) };
}

/// A line for the early console only, truncated at 256 bytes (the panic
/// path: it needs no memory set up and no lock).
pub struct EarlyLine {
    buffer: [u8; 256],
    len: usize,
}

impl EarlyLine {
    /// An empty line.
    pub const fn new() -> Self {
        Self {
            buffer: [0; 256],
            len: 0,
        }
    }

    /// Sends the line with the `console_write` hypercall.
    pub fn send(&self) {
        let _ = super::console_write(&self.buffer[..self.len]);
    }
}

impl Default for EarlyLine {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for EarlyLine {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let take = text.len().min(self.buffer.len() - self.len);
        self.buffer[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}
