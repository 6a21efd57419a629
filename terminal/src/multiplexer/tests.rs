extern crate std;

use std::string::String;
use std::vec::Vec;

use super::*;

/// Two running domains, 1 'a' and 2 'b'; what the multiplexer asked for.
#[derive(Default)]
struct Machine {
    delivered: Vec<(u32, u8)>,
    ended_input: bool,
}

impl Host for Machine {
    fn deliver(&mut self, domain: u32, byte: u8) {
        self.delivered.push((domain, byte));
    }
    fn name(&mut self, domain: u32) -> Option<Name> {
        match domain {
            1 => Some(Name::new(b"a")),
            2 => Some(Name::new(b"b")),
            _ => None,
        }
    }
    fn list(&mut self, focus: u32, show: &mut dyn FnMut(&[u8])) {
        for domain in [1, 2] {
            let marker = if domain == focus { "*" } else { " " };
            show(std::format!("hv: {marker} {domain}\n").as_bytes());
        }
    }
    fn stats(&mut self, show: &mut dyn FnMut(&[u8])) {
        show(b"hv: stats\n");
    }
    fn end_of_input(&mut self) {
        self.ended_input = true;
    }
}

#[derive(Default)]
struct Terminal {
    mux: Multiplexer,
    machine: Machine,
    text: Vec<u8>,
}

impl Terminal {
    fn output(&mut self, domain: u32, bytes: &[u8]) {
        let name: &[u8] = if domain == 1 { b"a" } else { b"b" };
        let text = &mut self.text;
        self.mux
            .output(domain, name, bytes, &mut |b| text.extend_from_slice(b));
    }
    fn keys(&mut self, keys: &[u8]) {
        let text = &mut self.text;
        for &key in keys {
            self.mux
                .key(key, &mut self.machine, &mut |b| text.extend_from_slice(b));
        }
    }
    fn shown(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }
}

#[test]
fn lines_of_two_domains_stay_apart_and_the_focused_prompt_shows() {
    let mut t = Terminal::default();
    t.output(1, b"a> ");
    t.output(2, b"one\n");
    t.output(1, b"x\n");
    assert_eq!(t.shown(), "[a] a> \n[b] one\n[a] a> x\n");
}

#[test]
fn a_message_breaks_the_open_line_and_the_prompt_comes_back() {
    let mut t = Terminal::default();
    t.output(1, b"a> ");
    let text = &mut t.text;
    t.mux
        .message(b"hv: note\n", &mut |b| text.extend_from_slice(b));
    t.output(1, b"ls\n");
    assert_eq!(t.shown(), "[a] a> \nhv: note\n[a] a> ls\n");
}

#[test]
fn keys_go_to_the_focused_domain_and_focus_moves() {
    let mut t = Terminal::default();
    t.output(2, b"b> ");
    t.keys(b"x\x012y");
    assert_eq!(t.machine.delivered, [(1, b'x'), (2, b'y')]);
    assert_eq!(t.mux.focus(), 2);
    assert_eq!(
        t.shown(),
        "hv: console input goes to domain 2 'b'\n[b] b> ",
        "the newly focused domain's prompt is shown"
    );
}

#[test]
fn focus_on_a_missing_domain_is_refused() {
    let mut t = Terminal::default();
    t.keys(b"\x017z");
    assert_eq!(t.mux.focus(), 1);
    assert_eq!(t.shown(), "hv: no running domain 7\n");
    assert_eq!(t.machine.delivered, [(1, b'z')]);
}

#[test]
fn list_stats_and_end_of_input_reach_the_host() {
    let mut t = Terminal::default();
    t.keys(b"\x01l\x01s\x01\x04");
    assert_eq!(t.shown(), "hv: * 1\nhv:   2\nhv: stats\n");
    assert!(t.machine.ended_input);
}

#[test]
fn an_ending_domain_leaves_its_unfinished_line_and_is_forgotten() {
    let mut t = Terminal::default();
    t.output(2, b"last words");
    let text = &mut t.text;
    t.mux.end(2, b"b", &mut |b| text.extend_from_slice(b));
    let text = &mut t.text;
    t.mux.end(2, b"b", &mut |b| text.extend_from_slice(b));
    assert_eq!(t.shown(), "[b] last words\n");
}

#[test]
fn colours_follow_the_domain_id_and_long_names_are_cut() {
    let mut t = Terminal::default();
    t.mux.set_color(true);
    t.output(1, b"hi\n");
    assert_eq!(t.shown(), "\x1b[32m[a]\x1b[0m hi\n");
    let mut mux = Multiplexer::new();
    let mut text = Vec::new();
    mux.output(3, &[b'n'; 40], b"x\n", &mut |b| text.extend_from_slice(b));
    assert_eq!(text.len(), 1 + NAME_MAX + 2 + 2);
}

#[test]
fn a_hand_over_ends_the_open_line_and_gives_the_unfinished_ones() {
    let mut t = Terminal::default();
    t.output(1, b"a> ");
    t.output(2, b"half");
    t.output(2, b"-done\n");
    t.output(2, b"tail");
    let mut given = Vec::new();
    let text = &mut t.text;
    t.mux.hand_over(
        &mut |b| text.extend_from_slice(b),
        &mut |domain, name, bytes| {
            given.push((domain, name.to_vec(), bytes.to_vec()));
        },
    );
    assert_eq!(t.shown(), "[a] a> \n[b] half-done\n");
    assert_eq!(
        given,
        [
            (1, b"a".to_vec(), b"a> ".to_vec()),
            (2, b"b".to_vec(), b"tail".to_vec())
        ]
    );
    let text = &mut t.text;
    t.mux.end(2, b"b", &mut |b| text.extend_from_slice(b));
    assert_eq!(
        t.shown(),
        "[a] a> \n[b] half-done\n",
        "nothing is left to show"
    );
}
