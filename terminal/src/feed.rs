//! Showing the console feed (`shared_abi::console_feed`): what the
//! hypervisor hands the terminal, record by record, whoever runs it.

use shared_abi::console_feed::{Record, RecordKind, Rest, Settings};

use crate::Multiplexer;

impl Multiplexer {
    /// Shows `record`: a domain's output or end, a line of the
    /// hypervisor's, the settings (colour and focus) it starts with. A
    /// ring's rest is shown whole: a server that took part of it from the
    /// ring itself cuts that part off first.
    /// Returns the keys of a keyboard record (none for the others), for the
    /// caller to read with its own host ([`Multiplexer::key`]).
    pub fn show<'a>(&mut self, record: Record<'a>, out: &mut impl FnMut(&[u8])) -> &'a [u8] {
        let Record {
            kind,
            domain,
            name,
            payload,
        } = record;
        match kind {
            RecordKind::Output => self.output(domain, name, payload, out),
            RecordKind::Rest => {
                if let Some((_, bytes)) = Rest::split(payload) {
                    self.output(domain, name, bytes, out);
                }
            }
            RecordKind::End => self.end(domain, name, out),
            RecordKind::Message => self.message(payload, out),
            RecordKind::Keyboard => return payload,
            RecordKind::Settings => {
                if let Some(settings) = Settings::from_bytes(payload) {
                    self.set_color(settings.color);
                    self.set_focus(settings.focus);
                }
            }
        }
        &[]
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    #[test]
    fn records_are_shown_and_keys_handed_back() {
        let mut mux = Multiplexer::new();
        let mut text = Vec::new();
        let mut typed = Vec::new();
        let records = [
            Record {
                kind: RecordKind::Settings,
                domain: 0,
                name: b"",
                payload: &[1, 2, 0, 0, 0],
            },
            Record {
                kind: RecordKind::Output,
                domain: 2,
                name: b"b",
                payload: b"hi\nhalf",
            },
            Record {
                kind: RecordKind::Keyboard,
                domain: 0,
                name: b"",
                payload: b"ls\n",
            },
            Record {
                kind: RecordKind::Rest,
                domain: 2,
                name: b"b",
                payload: b"\x07\0\0\0 and rest",
            },
            Record {
                kind: RecordKind::End,
                domain: 2,
                name: b"b",
                payload: b"",
            },
        ];
        for record in records {
            typed.extend_from_slice(mux.show(record, &mut |b| text.extend_from_slice(b)));
        }
        assert_eq!(mux.focus(), 2);
        assert!(mux.color());
        assert_eq!(
            std::string::String::from_utf8_lossy(&text),
            "\x1b[33m[b]\x1b[0m hi\n\x1b[33m[b]\x1b[0m half and rest\n"
        );
        assert_eq!(typed, b"ls\n");
    }
}
