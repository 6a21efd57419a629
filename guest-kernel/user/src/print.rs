//! [`print!`], [`println!`] and [`eprintln!`]: formatted output on the
//! console (descriptors 1 and 2), through the `write` system call.

use core::fmt::{self, Write};

use crate::sys;

/// Writes everything to descriptor `fd`.
pub struct Output(pub u64);

impl Write for Output {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut bytes = text.as_bytes();
        while !bytes.is_empty() {
            match sys::write(self.0, bytes) {
                Ok(0) | Err(_) => return Err(fmt::Error),
                Ok(count) => bytes = &bytes[count..],
            }
        }
        Ok(())
    }
}

/// Formats `args` into one buffer and writes it with one call (so that
/// lines of different processes do not interleave).
pub fn print_to(fd: u64, args: fmt::Arguments<'_>) {
    let mut line = Line::default();
    if line.write_fmt(args).is_err() || line.overflowed {
        let _ = Output(fd).write_fmt(args);
        return;
    }
    let _ = sys::write(fd, &line.bytes[..line.length]);
}

/// A line of up to 256 bytes on the stack.
struct Line {
    bytes: [u8; 256],
    length: usize,
    overflowed: bool,
}

impl Default for Line {
    fn default() -> Self {
        Self {
            bytes: [0; 256],
            length: 0,
            overflowed: false,
        }
    }
}

impl Write for Line {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let end = self.length + text.len();
        if end > self.bytes.len() {
            self.overflowed = true;
            return Err(fmt::Error);
        }
        self.bytes[self.length..end].copy_from_slice(text.as_bytes());
        self.length = end;
        Ok(())
    }
}

/// Prints to the console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::print::print_to(1, format_args!($($arg)*)) };
}

/// Prints a line to the console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::print::print_to(1, format_args!("{}\n", format_args!($($arg)*))) };
}

/// Prints a line to descriptor 2 (the console too).
#[macro_export]
macro_rules! eprintln {
    ($($arg:tt)*) => { $crate::print::print_to(2, format_args!("{}\n", format_args!($($arg)*))) };
}
