//! A program's arguments, as the kernel's loader left them on the stack:
//! `argc`, then `argc` pointers to NUL-terminated strings.

/// The arguments (the first is the program's name).
#[derive(Clone, Copy, Debug)]
pub struct Args {
    count: usize,
    pointers: *const u64,
}

impl Args {
    /// Reads `argc` and `argv` at `stack`.
    ///
    /// # Safety
    ///
    /// `stack` must be the initial stack pointer the kernel set.
    pub unsafe fn from_stack(stack: *const u64) -> Self {
        // SAFETY: forwarded; the loader wrote argc at `stack` and the
        // pointers right above it.
        unsafe {
            Self {
                count: *stack as usize,
                pointers: stack.add(1),
            }
        }
    }

    /// How many arguments there are.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none (not even the name).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Argument `index`, if there is one and it is UTF-8.
    pub fn get(&self, index: usize) -> Option<&'static str> {
        if index >= self.count {
            return None;
        }
        // SAFETY: the loader wrote `count` pointers to NUL-terminated
        // strings on the stack, which lives as long as the program.
        unsafe {
            let start = *self.pointers.add(index) as *const u8;
            let mut length = 0;
            while *start.add(length) != 0 {
                length += 1;
            }
            core::str::from_utf8(core::slice::from_raw_parts(start, length)).ok()
        }
    }

    /// Every argument, the name first.
    pub fn iter(&self) -> impl Iterator<Item = &'static str> + '_ {
        (0..self.count).filter_map(|index| self.get(index))
    }

    /// Argument `index` as a number, or `default`.
    pub fn number(&self, index: usize, default: u64) -> u64 {
        self.get(index).and_then(parse_number).unwrap_or(default)
    }

    /// Runs `action` on each argument after the program's name, reporting
    /// each failure as `NAME: PATH: ERROR` on the error output; returns the
    /// exit code: 1 if any failed, else 0 (what `rm` and `mkdir` do).
    pub fn for_each_path(
        &self,
        name: &str,
        action: impl Fn(&str) -> Result<(), crate::Error>,
    ) -> u64 {
        let mut failed = 0;
        for path in self.iter().skip(1) {
            if let Err(error) = action(path) {
                crate::eprintln!("{name}: {path}: {}", error.name());
                failed = 1;
            }
        }
        failed
    }
}

/// A decimal number, or a hexadecimal one after `0x`.
pub fn parse_number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}
