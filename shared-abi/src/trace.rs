//! The hypervisor's trace: what it records when booted with `trace`, and
//! the byte format it writes the recording in at the end of the run, which
//! `cargo xtask trace` turns into Chrome/Perfetto trace-event JSON.
//!
//! The dump is little-endian: a [`Header`], then the domains' names (for
//! each, its id as a `u16`, its name's length as a `u8` and the name), then
//! [`Header::records`] [`Record`]s of [`RECORD_BYTES`] each.

/// First bytes of a dump.
pub const MAGIC: [u8; 8] = *b"PVTRACE1";

/// Bytes of one encoded [`Record`].
pub const RECORD_BYTES: usize = 40;

/// Bytes of the encoded [`Header`].
pub const HEADER_BYTES: usize = 40;

/// Domain id used for what the hypervisor does on no domain's behalf.
pub const HYPERVISOR: u16 = 0;

/// What a [`Record`] is about.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A hypercall: `value` is its number, `argument` its first argument,
    /// `result` what `rax` carried back (`u64::MAX` when another domain ran
    /// next, so the result is not known at the exit).
    Hypercall = 1,
    /// A page fault the shadow resolved: `value` is the fault address.
    ShadowFill = 2,
    /// An exception reflected to the guest's handler: `detail` is the
    /// vector, `value` the fault address (page faults) or 0.
    Reflected = 3,
    /// An upcall entered (an event delivered): `value` is the entry point.
    Upcall = 4,
    /// A timer interrupt taken from the guest.
    Timer = 5,
    /// A device interrupt taken from the guest.
    Device = 6,
    /// The CPU went from domain `domain` to domain `value`.
    Switch = 7,
    /// Block requests a domain's queue in the hypervisor completed: `value`
    /// is how many. No longer recorded since the disk is the driver
    /// domain's (ABI 2.0); the number is kept for old recordings.
    BlockRequests = 8,
    /// The domain was stopped by the hypervisor: `detail` is the vector.
    Stopped = 9,
    /// A system call of guest-user code passed to the guest kernel:
    /// `value` is its number (`rax`), `argument` its first argument.
    SystemCall = 10,
}

impl Kind {
    /// Every kind, in number order.
    pub const ALL: [Kind; 10] = [
        Kind::Hypercall,
        Kind::ShadowFill,
        Kind::Reflected,
        Kind::Upcall,
        Kind::Timer,
        Kind::Device,
        Kind::Switch,
        Kind::BlockRequests,
        Kind::Stopped,
        Kind::SystemCall,
    ];

    /// The kind numbered `raw`, if any.
    pub fn from_raw(raw: u8) -> Option<Kind> {
        Self::ALL.into_iter().find(|kind| *kind as u8 == raw)
    }

    /// The kind's name in the JSON and the summary.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Hypercall => "hypercall",
            Kind::ShadowFill => "shadow fill",
            Kind::Reflected => "reflected exception",
            Kind::Upcall => "upcall",
            Kind::Timer => "timer interrupt",
            Kind::Device => "device interrupt",
            Kind::Switch => "switch",
            Kind::BlockRequests => "block requests",
            Kind::Stopped => "stopped",
            Kind::SystemCall => "system call",
        }
    }
}

/// One recorded event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// TSC when it began.
    pub tsc: u64,
    /// TSC ticks it took in the hypervisor (0 for instants).
    pub duration: u32,
    /// The domain it happened to ([`HYPERVISOR`]: none).
    pub domain: u16,
    /// What it is.
    pub kind: Kind,
    /// A small detail (a vector).
    pub detail: u8,
    /// The main value (see [`Kind`]).
    pub value: u64,
    /// A hypercall's first argument.
    pub argument: u64,
    /// A hypercall's result.
    pub result: u64,
}

impl Record {
    /// The record's bytes.
    pub fn encode(&self) -> [u8; RECORD_BYTES] {
        let mut out = [0u8; RECORD_BYTES];
        out[0..8].copy_from_slice(&self.tsc.to_le_bytes());
        out[8..12].copy_from_slice(&self.duration.to_le_bytes());
        out[12..14].copy_from_slice(&self.domain.to_le_bytes());
        out[14] = self.kind as u8;
        out[15] = self.detail;
        out[16..24].copy_from_slice(&self.value.to_le_bytes());
        out[24..32].copy_from_slice(&self.argument.to_le_bytes());
        out[32..40].copy_from_slice(&self.result.to_le_bytes());
        out
    }

    /// The record in `bytes`, or `None` if its kind is unknown.
    pub fn decode(bytes: &[u8; RECORD_BYTES]) -> Option<Record> {
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
        Some(Record {
            tsc: u64_at(0),
            duration: u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
            domain: u16::from_le_bytes([bytes[12], bytes[13]]),
            kind: Kind::from_raw(bytes[14])?,
            detail: bytes[15],
            value: u64_at(16),
            argument: u64_at(24),
            result: u64_at(32),
        })
    }
}

/// What precedes the records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// TSC ticks per second.
    pub tsc_hz: u64,
    /// Records that follow.
    pub records: u64,
    /// Records that did not fit the buffer (the first ones are kept).
    pub dropped: u64,
    /// Domain names that follow the header.
    pub domains: u32,
}

impl Header {
    /// The header's bytes.
    pub fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        out[0..8].copy_from_slice(&MAGIC);
        out[8..16].copy_from_slice(&self.tsc_hz.to_le_bytes());
        out[16..24].copy_from_slice(&self.records.to_le_bytes());
        out[24..32].copy_from_slice(&self.dropped.to_le_bytes());
        out[32..36].copy_from_slice(&self.domains.to_le_bytes());
        out
    }

    /// The header in `bytes`, or `None` without the magic.
    pub fn decode(bytes: &[u8; HEADER_BYTES]) -> Option<Header> {
        if bytes[0..8] != MAGIC {
            return None;
        }
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
        Some(Header {
            tsc_hz: u64_at(8),
            records: u64_at(16),
            dropped: u64_at(24),
            domains: u32::from_le_bytes([bytes[32], bytes[33], bytes[34], bytes[35]]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_headers_round_trip() {
        let record = Record {
            tsc: 0x0102_0304_0506_0708,
            duration: 77,
            domain: 3,
            kind: Kind::Reflected,
            detail: 14,
            value: 0xdead_beef,
            argument: 5,
            result: u64::MAX,
        };
        assert_eq!(Record::decode(&record.encode()), Some(record));
        let header = Header {
            tsc_hz: 1_000_000_000,
            records: 12,
            dropped: 1,
            domains: 2,
        };
        assert_eq!(Header::decode(&header.encode()), Some(header));
        let mut bad = header.encode();
        bad[0] = b'X';
        assert_eq!(Header::decode(&bad), None);
        let mut unknown = record.encode();
        unknown[14] = 200;
        assert_eq!(Record::decode(&unknown), None);
    }

    #[test]
    fn kinds_are_numbered_densely_from_one() {
        for (index, kind) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(kind as usize, index + 1);
            assert_eq!(Kind::from_raw(kind as u8), Some(kind));
        }
        assert_eq!(Kind::from_raw(0), None);
    }
}
