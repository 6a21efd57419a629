//! `print!` and `println!` on the hypercall console.
//!
//! Formatted text is gathered in a small stack buffer and sent with one
//! `console_write` hypercall per buffer-full, so a line usually costs one
//! hypercall. The hypervisor prefixes each line with the domain's name.

use core::fmt::{self, Write};

use crate::hv;

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
            // The console cannot fail for a buffer on our own stack.
            let _ = hv::console_write(&self.buffer[..self.len]);
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

/// Formats `args` to the console in one go.
pub fn print(args: fmt::Arguments<'_>) {
    let mut console = Console::new();
    let _ = console.write_fmt(args);
    console.flush();
}

/// Prints to the hypercall console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::print(format_args!($($arg)*)) };
}

/// Prints a line to the hypercall console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}
