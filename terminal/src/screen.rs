//! The operator's terminal, shared by every domain: complete lines carry
//! their domain's prefix and never interleave mid-line; the focused
//! domain's unfinished line (its prompt, what is being typed) is shown as it
//! grows and redrawn after another domain's line cuts in.
//!
//! Bytes are sanitised: control characters other than tab become `?` (a
//! guest cannot drive the terminal), carriage returns are dropped, and
//! backspace/delete erase the last character of the unfinished line.

/// Longest line shown in one piece; longer ones are split.
pub const MAX_LINE: usize = 200;

const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7f;

/// One domain's unfinished line.
#[derive(Debug)]
pub struct LineState {
    bytes: [u8; MAX_LINE],
    len: usize,
    /// How much of it is on the screen (meaningful while the screen's open
    /// line is this domain's).
    shown: usize,
}

impl Default for LineState {
    fn default() -> Self {
        Self {
            bytes: [0; MAX_LINE],
            len: 0,
            shown: 0,
        }
    }
}

impl LineState {
    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes held (shown or not).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Who owns the unfinished line on the screen.
#[derive(Debug, Default)]
pub struct Screen {
    open: Option<u32>,
}

impl Screen {
    /// A screen with no line open.
    pub const fn new() -> Self {
        Self { open: None }
    }

    /// Feeds `input` from domain `id` (its line `line`, its `prefix`),
    /// writing to the terminal through `out`. With `show_partial`, an
    /// unfinished line is displayed too.
    pub fn feed(
        &mut self,
        id: u32,
        prefix: &[u8],
        line: &mut LineState,
        input: &[u8],
        show_partial: bool,
        out: &mut impl FnMut(&[u8]),
    ) {
        for &byte in input {
            match byte {
                b'\n' => self.finish_line(id, prefix, line, out),
                b'\r' => {}
                BACKSPACE | DELETE => {
                    if line.len > 0 {
                        line.len -= 1;
                        if self.open == Some(id) && line.shown > line.len {
                            line.shown = line.len;
                            out(b"\x08 \x08");
                        }
                    }
                }
                _ => {
                    if line.len == MAX_LINE {
                        self.finish_line(id, prefix, line, out);
                    }
                    line.bytes[line.len] = match byte {
                        b'\t' | 0x20..=0x7e | 0x80.. => byte,
                        _ => b'?',
                    };
                    line.len += 1;
                }
            }
        }
        if show_partial {
            self.show_partial(id, prefix, line, out);
        }
    }

    /// Displays the unfinished part of domain `id`'s line.
    pub fn show_partial(
        &mut self,
        id: u32,
        prefix: &[u8],
        line: &mut LineState,
        out: &mut impl FnMut(&[u8]),
    ) {
        if self.open == Some(id) {
            if line.len > line.shown {
                out(&line.bytes[line.shown..line.len]);
                line.shown = line.len;
            }
            return;
        }
        if line.len == 0 {
            return;
        }
        self.break_open_line(out);
        out(prefix);
        out(&line.bytes[..line.len]);
        line.shown = line.len;
        self.open = Some(id);
    }

    /// Ends a line of domain `id`, flushing what is left of an unfinished
    /// line (for a domain that is going away).
    pub fn flush(
        &mut self,
        id: u32,
        prefix: &[u8],
        line: &mut LineState,
        out: &mut impl FnMut(&[u8]),
    ) {
        if line.len > 0 {
            self.finish_line(id, prefix, line, out);
        }
    }

    /// Writes a line that belongs to no domain (the hypervisor's own).
    pub fn message(&mut self, text: &[u8], out: &mut impl FnMut(&[u8])) {
        self.break_open_line(out);
        out(text);
    }

    fn finish_line(
        &mut self,
        id: u32,
        prefix: &[u8],
        line: &mut LineState,
        out: &mut impl FnMut(&[u8]),
    ) {
        if self.open == Some(id) {
            out(&line.bytes[line.shown..line.len]);
            out(b"\n");
        } else {
            self.break_open_line(out);
            out(prefix);
            out(&line.bytes[..line.len]);
            out(b"\n");
        }
        self.open = None;
        line.len = 0;
        line.shown = 0;
    }

    fn break_open_line(&mut self, out: &mut impl FnMut(&[u8])) {
        if self.open.take().is_some() {
            out(b"\n");
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    struct Terminal {
        screen: Screen,
        lines: [LineState; 3],
        text: Vec<u8>,
    }

    impl Terminal {
        fn new() -> Self {
            Self {
                screen: Screen::default(),
                lines: Default::default(),
                text: Vec::new(),
            }
        }
        fn feed(&mut self, id: u32, input: &[u8], focused: bool) {
            let prefix = if id == 1 { &b"[a] "[..] } else { &b"[b] "[..] };
            let text = &mut self.text;
            self.screen.feed(
                id,
                prefix,
                &mut self.lines[id as usize],
                input,
                focused,
                &mut |bytes| text.extend_from_slice(bytes),
            );
        }
        fn shown(&self) -> String {
            String::from_utf8_lossy(&self.text).into_owned()
        }
    }

    #[test]
    fn complete_lines_carry_prefixes_and_join_pieces() {
        let mut t = Terminal::new();
        t.feed(1, b"hel", false);
        t.feed(2, b"one\n", false);
        t.feed(1, b"lo\n", false);
        assert_eq!(t.shown(), "[b] one\n[a] hello\n");
    }

    #[test]
    fn the_focused_prompt_shows_and_is_redrawn_after_another_line() {
        let mut t = Terminal::new();
        t.feed(1, b"a> ", true);
        t.feed(1, b"ec", true);
        t.feed(2, b"noise\n", false);
        t.feed(1, b"ho", true);
        t.feed(1, b" x\n", true);
        assert_eq!(t.shown(), "[a] a> ec\n[b] noise\n[a] a> echo x\n");
    }

    #[test]
    fn backspace_erases_on_screen_and_in_the_line() {
        let mut t = Terminal::new();
        t.feed(1, b"a> abd", true);
        t.feed(1, b"\x08c\n", true);
        assert_eq!(t.shown(), "[a] a> abd\x08 \x08c\n");
        t.feed(2, b"x\x7f\x7fy\n", false);
        assert!(t.shown().ends_with("[b] y\n"));
    }

    #[test]
    fn control_characters_are_neutralised_and_long_lines_split() {
        let mut t = Terminal::new();
        t.feed(1, b"\x1b[31mred\x07\r\n", false);
        assert_eq!(t.shown(), "[a] ?[31mred?\n");
        let mut t = Terminal::new();
        t.feed(2, &[b'x'; MAX_LINE + 3], false);
        t.feed(2, b"\n", false);
        let shown = t.shown();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 4 + MAX_LINE);
        assert_eq!(lines[1], "[b] xxx");
    }
}
