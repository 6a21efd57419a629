//! The console's escape sequences, read from the operator's keyboard.
//!
//! `Ctrl-A` starts a command: a digit `1`-`9` focuses that domain, `l`
//! lists the domains, `Ctrl-D` ends console input for every domain (what
//! `cargo xtask run` sends when its piped input ends), and a second
//! `Ctrl-A` sends a literal `Ctrl-A`. Anything else goes to the focused
//! domain.

/// The escape key (Ctrl-A).
pub const ESCAPE: u8 = 0x01;
/// End of input (Ctrl-D).
pub const END_OF_INPUT: u8 = 0x04;

/// What a byte from the keyboard asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Give this byte to the focused domain.
    Deliver(u8),
    /// Focus domain N.
    Focus(u32),
    /// List the domains.
    List,
    /// Print every domain's counters.
    Stats,
    /// End input for every domain.
    EndOfInput,
    /// Nothing (the escape key itself, or an unknown command).
    Nothing,
}

/// The escape state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Escape {
    pending: bool,
}

impl Escape {
    /// No escape key pending.
    pub const fn new() -> Self {
        Self { pending: false }
    }

    /// Interprets one byte.
    pub fn feed(&mut self, byte: u8) -> Action {
        if !self.pending {
            if byte == ESCAPE {
                self.pending = true;
                return Action::Nothing;
            }
            return Action::Deliver(byte);
        }
        self.pending = false;
        match byte {
            b'1'..=b'9' => Action::Focus((byte - b'0') as u32),
            b'l' | b'L' => Action::List,
            b's' | b'S' => Action::Stats,
            END_OF_INPUT => Action::EndOfInput,
            ESCAPE => Action::Deliver(ESCAPE),
            _ => Action::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn run(bytes: &[u8]) -> Vec<Action> {
        let mut escape = Escape::default();
        bytes
            .iter()
            .map(|b| escape.feed(*b))
            .filter(|a| *a != Action::Nothing)
            .collect()
    }

    #[test]
    fn commands_and_plain_bytes() {
        assert_eq!(run(b"ab"), [Action::Deliver(b'a'), Action::Deliver(b'b')]);
        assert_eq!(run(b"\x012x"), [Action::Focus(2), Action::Deliver(b'x')]);
        assert_eq!(run(b"\x01l"), [Action::List]);
        assert_eq!(run(b"\x01s"), [Action::Stats]);
        assert_eq!(run(b"\x01\x04"), [Action::EndOfInput]);
        assert_eq!(run(b"\x01\x01"), [Action::Deliver(ESCAPE)]);
        assert_eq!(run(b"\x01zq"), [Action::Deliver(b'q')]);
        assert_eq!(
            run(b"\x04"),
            [Action::Deliver(END_OF_INPUT)],
            "a plain Ctrl-D goes to the guest"
        );
    }
}
