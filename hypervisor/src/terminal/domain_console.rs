//! A domain's side of the console, kept in its record.

use alloc::collections::VecDeque;

use super::device::{INPUT_QUEUE_LIMIT, RingDevice};

/// A domain's side of the console.
#[derive(Debug, Default)]
pub struct DomainConsole {
    /// The split console, once attached (and while not disconnected).
    pub device: Option<RingDevice>,
    /// Keyboard input waiting for room in the input ring.
    pub input: VecDeque<u8>,
}

impl DomainConsole {
    /// Queues typed `bytes` for the input ring, as many as the queue has
    /// room for (the rest are dropped, as a keyboard drops keys); returns
    /// how many it took.
    pub fn queue_input(&mut self, bytes: &[u8]) -> usize {
        let taken = bytes
            .len()
            .min(INPUT_QUEUE_LIMIT.saturating_sub(self.input.len()));
        self.input.extend(&bytes[..taken]);
        taken
    }
}
