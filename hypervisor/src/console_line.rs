//! Line assembly for a domain's early console: bytes arrive in arbitrary
//! pieces; complete lines leave, so that output of different domains never
//! interleaves mid-line.
//!
//! Bytes are sanitised on the way in: control characters other than tab
//! (escape sequences included) become `?`, carriage returns are dropped,
//! so a guest cannot drive the operator's terminal. Over-long lines are cut
//! into pieces of [`MAX_LINE`] bytes.

/// Longest line emitted in one piece.
pub const MAX_LINE: usize = 200;

/// A partial line.
#[derive(Debug)]
pub struct ConsoleLine {
    bytes: [u8; MAX_LINE],
    len: usize,
}

impl Default for ConsoleLine {
    fn default() -> Self {
        Self {
            bytes: [0; MAX_LINE],
            len: 0,
        }
    }
}

impl ConsoleLine {
    /// Appends `input`, calling `emit` with each completed line (without
    /// its newline).
    pub fn push(&mut self, input: &[u8], mut emit: impl FnMut(&[u8])) {
        for &byte in input {
            match byte {
                b'\n' => {
                    emit(&self.bytes[..self.len]);
                    self.len = 0;
                }
                b'\r' => {}
                _ => {
                    if self.len == MAX_LINE {
                        emit(&self.bytes[..self.len]);
                        self.len = 0;
                    }
                    let clean = match byte {
                        b'\t' | 0x20..=0x7e | 0x80.. => byte,
                        _ => b'?',
                    };
                    self.bytes[self.len] = clean;
                    self.len += 1;
                }
            }
        }
    }

    /// Emits what is left of an unfinished line, if anything.
    pub fn flush(&mut self, mut emit: impl FnMut(&[u8])) {
        if self.len > 0 {
            emit(&self.bytes[..self.len]);
            self.len = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn collect(pieces: &[&[u8]], flush: bool) -> Vec<String> {
        let mut line = ConsoleLine::default();
        let mut out = Vec::new();
        for piece in pieces {
            line.push(piece, |l| out.push(String::from_utf8_lossy(l).into_owned()));
        }
        if flush {
            line.flush(|l| out.push(String::from_utf8_lossy(l).into_owned()));
        }
        out
    }

    #[test]
    fn joins_pieces_into_lines() {
        assert_eq!(
            collect(&[b"hel", b"lo\nwor", b"ld\r\n"], false),
            ["hello", "world"]
        );
        assert_eq!(collect(&[b"tail"], true), ["tail"]);
        assert!(collect(&[b""], true).is_empty());
    }

    #[test]
    fn neutralises_control_characters_and_cuts_long_lines() {
        assert_eq!(collect(&[b"\x1b[31mred\x07\n"], false), ["?[31mred?"]);
        let long = [b'x'; MAX_LINE + 5];
        let lines = collect(&[&long, b"\n"], false);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE);
        assert_eq!(lines[1].len(), 5);
    }
}
