//! The console feed: records queued, in order, for the console backend
//! (see `shared_abi::console_feed`), while a domain serves the console.

use alloc::collections::VecDeque;

use shared_abi::console_feed::{HEADER, NAME_MAX, PAYLOAD_MAX, Record, RecordKind};

/// The next record does not fit the backend's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooSmall;

/// Bytes of records held for a backend that does not read them; beyond,
/// the hypervisor shows output itself rather than lose it.
pub const FEED_LIMIT: usize = 1024 * 1024;

/// Bytes queued past which other domains' early-console writes wait (made
/// again at their next turn) until the backend catches up.
pub const FEED_BACKLOG: usize = 64 * 1024;

/// The records queued for the backend.
#[derive(Debug, Default)]
pub struct Feed {
    queue: VecDeque<u8>,
    /// Bytes at the front the backend was given by its last read: they
    /// stay queued until its next read says it has shown them.
    lent: usize,
    /// Records were queued since the backend was last told.
    unannounced: bool,
}

impl Feed {
    /// An empty feed.
    pub const fn new() -> Self {
        Self {
            queue: VecDeque::new(),
            lent: 0,
            unannounced: false,
        }
    }

    /// Queues `payload` of `kind` from `domain` called `name`, split into
    /// records of at most `PAYLOAD_MAX` bytes. Returns `false`, queueing
    /// nothing, when that would take the feed past [`FEED_LIMIT`].
    pub fn push(&mut self, kind: RecordKind, domain: u32, name: &[u8], payload: &[u8]) -> bool {
        let name = &name[..name.len().min(NAME_MAX)];
        let records = payload.len().div_ceil(PAYLOAD_MAX).max(1);
        let size = records * (HEADER + name.len()) + payload.len();
        if self.queue.len() + size > FEED_LIMIT {
            return false;
        }
        let mut chunks = payload.chunks(PAYLOAD_MAX);
        for _ in 0..records {
            let payload = chunks.next().unwrap_or(&[]);
            let record = Record {
                kind,
                domain,
                name,
                payload,
            };
            self.queue.extend(record.header());
            self.queue.extend(name);
            self.queue.extend(payload);
        }
        self.unannounced = true;
        true
    }

    /// The backend's read: drops what its last read lent (it has shown
    /// that), then lends it the whole records now at the front that fit
    /// `out`, copied there; returns the bytes lent. Fails, dropping
    /// nothing, when records are queued and the first does not fit.
    pub fn read(&mut self, out: &mut [u8]) -> Result<usize, TooSmall> {
        let next = self.peek_after(self.lent, out);
        if next == 0 && self.queue.len() > self.lent {
            return Err(TooSmall);
        }
        self.queue.drain(..self.lent);
        self.lent = next;
        Ok(next)
    }

    /// Copies the whole records from byte `from` that fit `out`; returns
    /// the bytes copied.
    fn peek_after(&self, from: usize, out: &mut [u8]) -> usize {
        let mut at = 0;
        while from + at + HEADER <= self.queue.len() {
            let byte = |i: usize| self.queue[from + at + i];
            let size = HEADER + byte(1) as usize + u16::from_le_bytes([byte(2), byte(3)]) as usize;
            let Some(into) = out.get_mut(at..at + size) else {
                break;
            };
            for (i, slot) in into.iter_mut().enumerate() {
                *slot = byte(i);
            }
            at += size;
        }
        at
    }

    /// Whether nothing is queued (nor lent).
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether the backend is [`FEED_BACKLOG`] bytes behind.
    pub fn backed_up(&self) -> bool {
        self.queue.len() >= FEED_BACKLOG
    }

    /// Forgets what the last read lent: it stays queued, to be lent again.
    pub fn unlend(&mut self) {
        self.lent = 0;
    }

    /// Every queued byte, those lent included, emptying the feed (the
    /// backend went away).
    pub fn take(&mut self) -> VecDeque<u8> {
        self.unannounced = false;
        self.lent = 0;
        core::mem::take(&mut self.queue)
    }

    /// Whether records were queued since the last call.
    pub fn announce(&mut self) -> bool {
        core::mem::take(&mut self.unannounced)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    fn records(bytes: &[u8]) -> Vec<(RecordKind, u32, Vec<u8>, Vec<u8>)> {
        let mut rest = bytes;
        let mut out = Vec::new();
        while !rest.is_empty() {
            let (record, after) = Record::decode(rest).unwrap();
            out.push((
                record.kind,
                record.domain,
                record.name.to_vec(),
                record.payload.to_vec(),
            ));
            rest = after;
        }
        out
    }

    #[test]
    fn long_output_is_split_and_read_in_whole_records() {
        let mut feed = Feed::new();
        assert!(feed.push(RecordKind::Output, 2, b"shell", &[b'x'; PAYLOAD_MAX + 10]));
        assert!(feed.push(RecordKind::End, 2, b"shell", b""));
        assert!(feed.announce());
        assert!(!feed.announce());
        // Room for the two pieces of the output, not for the end after them.
        let mut out = [0u8; 2 * (HEADER + 5) + PAYLOAD_MAX + 10 + 4];
        let n = feed.read(&mut out).unwrap();
        let got = records(&out[..n]);
        assert_eq!(got.len(), 2, "the third does not fit after the first two");
        assert_eq!(got[0].3.len(), PAYLOAD_MAX);
        assert_eq!(got[1].3.len(), 10);
        let n = feed.read(&mut out).unwrap();
        assert_eq!(
            records(&out[..n]),
            [(RecordKind::End, 2, b"shell".to_vec(), Vec::new())]
        );
        assert_eq!(feed.read(&mut out), Ok(0));
        assert!(feed.queue.is_empty());
    }

    #[test]
    fn what_a_backend_was_lent_comes_back_if_it_goes_away() {
        let mut feed = Feed::new();
        feed.push(RecordKind::Message, 0, b"", b"one\n");
        feed.push(RecordKind::Message, 0, b"", b"two\n");
        let mut out = [0u8; HEADER + 4];
        assert_eq!(feed.read(&mut out), Ok(HEADER + 4));
        assert_eq!(
            feed.read(&mut out),
            Ok(HEADER + 4),
            "`one` is shown: dropped"
        );
        let left = feed.take();
        assert_eq!(records(&left.iter().copied().collect::<Vec<u8>>()).len(), 1);
    }

    #[test]
    fn a_buffer_too_small_for_the_next_record_gets_nothing() {
        let mut feed = Feed::new();
        feed.push(RecordKind::Message, 0, b"", b"hv: a line\n");
        assert_eq!(feed.read(&mut [0u8; 8]), Err(TooSmall));
        assert!(!feed.queue.is_empty());
    }

    #[test]
    fn the_limit_refuses_whole_pushes() {
        let mut feed = Feed::new();
        let chunk = [b'y'; PAYLOAD_MAX];
        let mut pushed = 0;
        while feed.push(RecordKind::Output, 1, b"a", &chunk) {
            pushed += 1;
        }
        assert!(pushed > 0 && feed.queue.len() <= FEED_LIMIT);
        assert!(!feed.push(RecordKind::Output, 1, b"a", &chunk));
        assert_eq!(feed.take().len(), pushed * (chunk.len() + 9));
        assert!(feed.push(RecordKind::Output, 1, b"a", &chunk));
    }
}
