//! The console feed: what the hypervisor hands the console backend, the
//! domain that runs the operator's terminal once it offers
//! [`Kind::Console`](crate::backend::Kind::Console).
//!
//! Everything that would otherwise reach COM1 through the hypervisor's own
//! multiplexer becomes a [`Record`], queued in order and read with
//! `console_read`: each domain's early-console output, what was left in a
//! domain's split-console ring when it stopped or ended ([`RecordKind::Rest`]),
//! the end of a domain (its unfinished line is shown then), the
//! hypervisor's own lines, the keys typed at COM1 and the terminal's
//! settings. The backend shows them with the `terminal` multiplexer. The
//! split-console rings themselves are the backend's: each frontend grants
//! its ring page to it (`frontend_connect(Console)`), and the backend
//! drains their output and fills their input.
//!
//! A record is an 8-byte header, the domain's name and the payload:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | kind ([`RecordKind`]) |
//! | 1 | 1 | name length (at most [`NAME_MAX`]) |
//! | 2 | 2 | payload length (little-endian, at most [`PAYLOAD_MAX`]) |
//! | 4 | 4 | domain id (little-endian; 0 for the hypervisor's and the keyboard's) |
//! | 8 | name length | the domain's name |
//! | 8 + name length | payload length | the payload |
//!
//! `console_read` never splits a record, so a buffer of [`RECORD_MAX`]
//! bytes always holds the next one.

/// Longest name a record carries.
pub const NAME_MAX: usize = 32;
/// Longest payload of one record.
pub const PAYLOAD_MAX: usize = 1024;
/// Header bytes.
pub const HEADER: usize = 8;
/// Largest record.
pub const RECORD_MAX: usize = HEADER + NAME_MAX + PAYLOAD_MAX;

/// The operator's commands the backend hands back to the hypervisor
/// (`console_command`): what only the hypervisor knows.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleCommand {
    /// List the domains (`Ctrl-A l`): one `hv:` line each, fed back as
    /// [`RecordKind::Message`]s.
    List = 1,
    /// Every domain's counters (`Ctrl-A s`), the same way.
    Stats = 2,
}

impl ConsoleCommand {
    /// Decodes a command number.
    pub fn from_number(number: u64) -> Option<Self> {
        [Self::List, Self::Stats]
            .into_iter()
            .find(|command| *command as u64 == number)
    }
}

/// What a record says.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// Bytes the domain wrote.
    Output = 1,
    /// The domain ended (no payload): what is left of its line is shown.
    End = 2,
    /// A line of the hypervisor's own (domain 0, no name).
    Message = 3,
    /// Bytes typed at COM1 (domain 0, no name).
    Keyboard = 4,
    /// The terminal's settings (domain 0, no name; the first record a new
    /// server reads), 5 payload bytes: 1 when domain prefixes are
    /// coloured (else 0), then the domain that has the focus (`u32`,
    /// little-endian). Records of the domains' unfinished lines follow it.
    Settings = 5,
    /// What was left in the domain's split-console output ring when the
    /// hypervisor stopped or ended it (the ring's grant is gone by the time
    /// the backend reads this): a [`Rest`] header, then the bytes. The
    /// backend shows the bytes it has not taken from the ring itself.
    Rest = 6,
}

impl RecordKind {
    fn from_byte(byte: u8) -> Option<Self> {
        [
            Self::Output,
            Self::End,
            Self::Message,
            Self::Keyboard,
            Self::Settings,
            Self::Rest,
        ]
        .into_iter()
        .find(|kind| *kind as u8 == byte)
    }
}

/// The payload of a [`RecordKind::Settings`] record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Domain prefixes are coloured.
    pub color: bool,
    /// The domain that has the focus.
    pub focus: u32,
}

impl Settings {
    /// Encoded length.
    pub const BYTES: usize = 5;

    /// The payload: 1 or 0, then the focus (`u32`, little-endian).
    pub fn to_bytes(self) -> [u8; Self::BYTES] {
        let mut bytes = [0u8; Self::BYTES];
        bytes[0] = self.color as u8;
        bytes[1..].copy_from_slice(&self.focus.to_le_bytes());
        bytes
    }

    /// Decodes a payload; `None` unless it is [`Settings::BYTES`] long.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let [color, focus @ ..] = bytes else {
            return None;
        };
        let focus = <[u8; 4]>::try_from(focus).ok()?;
        Some(Self {
            color: *color == 1,
            focus: u32::from_le_bytes(focus),
        })
    }
}

/// The header of a [`RecordKind::Rest`] payload: the output-ring index of
/// its first byte (`u32`, little-endian). The bytes follow it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rest {
    /// The ring index of the first byte.
    pub start: u32,
}

impl Rest {
    /// Encoded length of the header.
    pub const BYTES: usize = 4;
    /// Most ring bytes one record carries.
    pub const CHUNK: usize = PAYLOAD_MAX - Self::BYTES;

    /// The header bytes.
    pub fn to_bytes(self) -> [u8; Self::BYTES] {
        self.start.to_le_bytes()
    }

    /// Splits a payload into its header and the ring bytes; `None` when it
    /// is shorter than the header.
    pub fn split(payload: &[u8]) -> Option<(Self, &[u8])> {
        let (start, bytes) = payload.split_first_chunk::<{ Self::BYTES }>()?;
        Some((
            Self {
                start: u32::from_le_bytes(*start),
            },
            bytes,
        ))
    }

    /// How many of the `len` bytes from `start` on a consumer whose own
    /// index is `taken` has already taken from the ring: none when its
    /// index is behind `start`, all when it is past their end.
    pub fn already_taken(self, taken: u32, len: usize) -> usize {
        let ahead = taken.wrapping_sub(self.start);
        match ahead as i32 {
            ..0 => 0,
            _ => (ahead as usize).min(len),
        }
    }
}

/// One record, borrowed from the buffer it was read into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// What it says.
    pub kind: RecordKind,
    /// Whose (0: the hypervisor's or the keyboard's).
    pub domain: u32,
    /// The domain's name (empty for domain 0).
    pub name: &'a [u8],
    /// The bytes.
    pub payload: &'a [u8],
}

/// Why bytes are not a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedError {
    /// Fewer bytes than the header says.
    Truncated,
    /// An unknown kind or a length past its limit.
    Malformed,
}

impl<'a> Record<'a> {
    /// The encoded length.
    pub fn len(&self) -> usize {
        HEADER + self.name.len() + self.payload.len()
    }

    /// Whether the record carries neither name nor payload.
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.payload.is_empty()
    }

    /// The header; the name and payload follow it. The name is cut to
    /// [`NAME_MAX`] bytes and the payload must fit [`PAYLOAD_MAX`]
    /// (callers split longer output into several records).
    pub fn header(&self) -> [u8; HEADER] {
        assert!(self.name.len() <= NAME_MAX && self.payload.len() <= PAYLOAD_MAX);
        let mut header = [0u8; HEADER];
        header[0] = self.kind as u8;
        header[1] = self.name.len() as u8;
        header[2..4].copy_from_slice(&(self.payload.len() as u16).to_le_bytes());
        header[4..8].copy_from_slice(&self.domain.to_le_bytes());
        header
    }

    /// Decodes the record at the start of `bytes`; returns it and the
    /// bytes after it.
    pub fn decode(bytes: &'a [u8]) -> Result<(Self, &'a [u8]), FeedError> {
        let header = bytes.get(..HEADER).ok_or(FeedError::Truncated)?;
        let kind = RecordKind::from_byte(header[0]).ok_or(FeedError::Malformed)?;
        let name_len = header[1] as usize;
        let payload_len = u16::from_le_bytes([header[2], header[3]]) as usize;
        if name_len > NAME_MAX || payload_len > PAYLOAD_MAX {
            return Err(FeedError::Malformed);
        }
        let domain = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let end = HEADER + name_len + payload_len;
        let body = bytes.get(HEADER..end).ok_or(FeedError::Truncated)?;
        let (name, payload) = body.split_at(name_len);
        let record = Self {
            kind,
            domain,
            name,
            payload,
        };
        Ok((record, &bytes[end..]))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    fn encode(record: &Record) -> Vec<u8> {
        let mut bytes = record.header().to_vec();
        bytes.extend_from_slice(record.name);
        bytes.extend_from_slice(record.payload);
        bytes
    }

    #[test]
    fn records_round_trip_one_after_another() {
        let first = Record {
            kind: RecordKind::Output,
            domain: 3,
            name: b"shell",
            payload: b"$ ",
        };
        let second = Record {
            kind: RecordKind::Message,
            domain: 0,
            name: b"",
            payload: b"hv: hello\n",
        };
        let mut bytes = encode(&first);
        bytes.extend(encode(&second));
        let (got, rest) = Record::decode(&bytes).unwrap();
        assert_eq!(got, first);
        assert_eq!(got.len(), HEADER + 5 + 2);
        let (got, rest) = Record::decode(rest).unwrap();
        assert_eq!(got, second);
        assert!(rest.is_empty());
    }

    #[test]
    fn settings_round_trip_and_odd_lengths_are_refused() {
        let settings = Settings {
            color: true,
            focus: 7,
        };
        assert_eq!(settings.to_bytes(), [1, 7, 0, 0, 0]);
        assert_eq!(Settings::from_bytes(&settings.to_bytes()), Some(settings));
        assert_eq!(Settings::from_bytes(&[1, 7, 0, 0]), None);
        assert_eq!(Settings::from_bytes(&[]), None);
    }

    #[test]
    fn a_rest_says_where_it_starts_and_what_was_taken_already() {
        let mut payload = Rest {
            start: u32::MAX - 1,
        }
        .to_bytes()
        .to_vec();
        payload.extend_from_slice(b"abcd");
        let (rest, bytes) = Rest::split(&payload).unwrap();
        assert_eq!(rest.start, u32::MAX - 1);
        assert_eq!(bytes, b"abcd");
        assert_eq!(Rest::split(&[1, 2, 3]), None);
        // A consumer at the start took none; two on (across the wrap) took
        // two; at the end or past it, all; behind the start, none.
        assert_eq!(rest.already_taken(u32::MAX - 1, 4), 0);
        assert_eq!(rest.already_taken(0, 4), 2);
        assert_eq!(rest.already_taken(2, 4), 4);
        assert_eq!(rest.already_taken(300, 4), 4);
        assert_eq!(rest.already_taken(u32::MAX - 2, 4), 0);
    }

    #[test]
    fn short_and_malformed_bytes_are_refused() {
        let record = Record {
            kind: RecordKind::End,
            domain: 1,
            name: b"a",
            payload: b"",
        };
        let bytes = encode(&record);
        for cut in 0..bytes.len() {
            assert_eq!(Record::decode(&bytes[..cut]), Err(FeedError::Truncated));
        }
        let mut bad = bytes.clone();
        bad[0] = 9;
        assert_eq!(Record::decode(&bad), Err(FeedError::Malformed));
        let mut long_name = bytes.clone();
        long_name[1] = NAME_MAX as u8 + 1;
        assert_eq!(Record::decode(&long_name), Err(FeedError::Malformed));
        let mut long_payload = bytes;
        long_payload[2..4].copy_from_slice(&(PAYLOAD_MAX as u16 + 1).to_le_bytes());
        assert_eq!(Record::decode(&long_payload), Err(FeedError::Malformed));
    }
}
