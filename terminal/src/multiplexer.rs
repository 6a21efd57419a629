//! The multiplexer: screen, escape keys and focus together, the state of
//! one shared terminal.

use alloc::collections::BTreeMap;

use crate::escape::{Action, Escape};
use crate::screen::{LineState, Screen};

/// Longest domain name shown in a prefix (longer names are cut).
pub const NAME_MAX: usize = 32;

/// A domain's name, as the host reports it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Name {
    bytes: [u8; NAME_MAX],
    len: usize,
}

impl Name {
    /// `name`, cut to [`NAME_MAX`] bytes.
    pub fn new(name: &[u8]) -> Self {
        let len = name.len().min(NAME_MAX);
        let mut bytes = [0; NAME_MAX];
        bytes[..len].copy_from_slice(&name[..len]);
        Self { bytes, len }
    }

    /// The name's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// What the multiplexer needs from the machine it runs for.
pub trait Host {
    /// Gives `byte`, typed while `domain` had the focus, to its console
    /// input.
    fn deliver(&mut self, domain: u32, byte: u8);
    /// The name of running domain `domain`, or `None` if there is none.
    fn name(&mut self, domain: u32) -> Option<Name>;
    /// Lists the domains (`Ctrl-A l`), `focus` marked, each line shown
    /// through `show` (or later, as the host's own messages).
    fn list(&mut self, focus: u32, show: &mut dyn FnMut(&[u8]));
    /// Prints every domain's counters (`Ctrl-A s`), the same way.
    fn stats(&mut self, show: &mut dyn FnMut(&[u8]));
    /// Ends console input for every domain (`Ctrl-A Ctrl-D`).
    fn end_of_input(&mut self);
}

/// Colours of domain prefixes, by domain id.
const COLORS: [u8; 6] = [b'2', b'3', b'4', b'5', b'6', b'1'];

/// Longest prefix: the colour codes, brackets, name and space.
const PREFIX_MAX: usize = NAME_MAX + 16;

/// `[name] `, in its domain's colour when colours are on.
struct Prefix {
    bytes: [u8; PREFIX_MAX],
    len: usize,
}

impl Prefix {
    fn new(color: bool, domain: u32, name: &[u8]) -> Self {
        let mut prefix = Self {
            bytes: [0; PREFIX_MAX],
            len: 0,
        };
        let name = &name[..name.len().min(NAME_MAX)];
        if color {
            let code = COLORS[(domain as usize).wrapping_sub(1) % COLORS.len()];
            prefix.push(&[0x1b, b'[', b'3', code, b'm', b'[']);
            prefix.push(name);
            prefix.push(b"]\x1b[0m ");
        } else {
            prefix.push(b"[");
            prefix.push(name);
            prefix.push(b"] ");
        }
        prefix
    }

    fn push(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// A domain's unfinished line and the name it was last shown with.
#[derive(Debug, Default)]
struct Line {
    name: Name,
    state: LineState,
}

/// The shared terminal's state.
#[derive(Debug)]
pub struct Multiplexer {
    screen: Screen,
    escape: Escape,
    focus: u32,
    color: bool,
    /// Each domain's unfinished line, while it has one or has written.
    lines: BTreeMap<u32, Line>,
}

impl Default for Multiplexer {
    fn default() -> Self {
        Self::new()
    }
}

impl Multiplexer {
    /// Focus on domain 1, no colours, nothing shown yet.
    pub const fn new() -> Self {
        Self {
            screen: Screen::new(),
            escape: Escape::new(),
            focus: 1,
            color: false,
            lines: BTreeMap::new(),
        }
    }

    /// Colours domain prefixes (when the terminal supports it).
    pub fn set_color(&mut self, on: bool) {
        self.color = on;
    }

    /// Whether domain prefixes are coloured.
    pub fn color(&self) -> bool {
        self.color
    }

    /// Gives domain `domain` the focus, without a word (the terminal
    /// is taken over with its focus).
    pub fn set_focus(&mut self, domain: u32) {
        self.focus = domain;
    }

    /// The domain that has the focus.
    pub fn focus(&self) -> u32 {
        self.focus
    }

    /// Shows `bytes` written by domain `domain` called `name`.
    pub fn output(&mut self, domain: u32, name: &[u8], bytes: &[u8], out: &mut impl FnMut(&[u8])) {
        let prefix = Prefix::new(self.color, domain, name);
        let line = self.lines.entry(domain).or_default();
        line.name = Name::new(name);
        let focused = self.focus == domain;
        self.screen.feed(
            domain,
            prefix.as_bytes(),
            &mut line.state,
            bytes,
            focused,
            out,
        );
    }

    /// Domain `domain` ended: shows what is left of its unfinished line and
    /// forgets it.
    pub fn end(&mut self, domain: u32, name: &[u8], out: &mut impl FnMut(&[u8])) {
        if let Some(mut line) = self.lines.remove(&domain) {
            let prefix = Prefix::new(self.color, domain, name);
            self.screen
                .flush(domain, prefix.as_bytes(), &mut line.state, out);
        }
    }

    /// Shows a line of no domain's (the machine's own), keeping unfinished
    /// lines intact.
    pub fn message(&mut self, text: &[u8], out: &mut impl FnMut(&[u8])) {
        self.screen.message(text, out);
    }

    /// Hands the terminal over to another multiplexer: ends the line open
    /// on the screen and gives each domain's unfinished line to `give`
    /// (domain, name, bytes), forgetting it, so that the other shows it
    /// (whole, when it grows or ends there).
    pub fn hand_over(
        &mut self,
        out: &mut impl FnMut(&[u8]),
        give: &mut impl FnMut(u32, &[u8], &[u8]),
    ) {
        self.screen.message(b"", out);
        for (domain, line) in core::mem::take(&mut self.lines) {
            if !line.state.is_empty() {
                give(domain, line.name.as_bytes(), line.state.bytes());
            }
        }
    }

    /// Reads one key from the operator's keyboard.
    pub fn key(&mut self, byte: u8, host: &mut impl Host, out: &mut impl FnMut(&[u8])) {
        match self.escape.feed(byte) {
            Action::Deliver(byte) => host.deliver(self.focus, byte),
            Action::Focus(domain) => self.focus_on(domain, host, out),
            Action::List => {
                let screen = &mut self.screen;
                host.list(self.focus, &mut |line| screen.message(line, out));
            }
            Action::Stats => {
                let screen = &mut self.screen;
                host.stats(&mut |line| screen.message(line, out));
            }
            Action::EndOfInput => host.end_of_input(),
            Action::Nothing => {}
        }
    }

    fn focus_on(&mut self, domain: u32, host: &mut impl Host, out: &mut impl FnMut(&[u8])) {
        let mut text = Text::default();
        let Some(name) = host.name(domain) else {
            text.push(b"hv: no running domain ");
            text.number(domain);
            text.push(b"\n");
            self.screen.message(text.as_bytes(), out);
            return;
        };
        self.focus = domain;
        text.push(b"hv: console input goes to domain ");
        text.number(domain);
        text.push(b" '");
        text.push(name.as_bytes());
        text.push(b"'\n");
        self.screen.message(text.as_bytes(), out);
        let prefix = Prefix::new(self.color, domain, name.as_bytes());
        let line = self.lines.entry(domain).or_default();
        line.name = name;
        self.screen
            .show_partial(domain, prefix.as_bytes(), &mut line.state, out);
    }
}

/// A short line of text built without formatting machinery.
struct Text {
    bytes: [u8; 96],
    len: usize,
}

impl Default for Text {
    fn default() -> Self {
        Self {
            bytes: [0; 96],
            len: 0,
        }
    }
}

impl Text {
    fn push(&mut self, bytes: &[u8]) {
        let room = self.bytes.len() - self.len;
        let bytes = &bytes[..bytes.len().min(room)];
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn number(&mut self, mut value: u32) {
        let mut digits = [0u8; 10];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        self.push(&digits[at..]);
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[cfg(test)]
mod tests;
