//! A domain's side of the console, kept in its record.

use alloc::collections::VecDeque;

use super::device::RingDevice;

/// A domain's side of the console.
#[derive(Debug, Default)]
pub struct DomainConsole {
    /// The split console, once attached (and while not disconnected).
    pub device: Option<RingDevice>,
    /// Keyboard input waiting for room in the input ring.
    pub input: VecDeque<u8>,
}
