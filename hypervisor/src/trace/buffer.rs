//! The bounded record buffer: the first records up to its capacity are
//! kept, and those that come after are counted, not stored, so that a
//! recording never grows without bound and its start stays complete.

use alloc::vec::Vec;

use shared_abi::trace::Record;

/// Records in order, up to a capacity fixed when tracing is turned on.
#[derive(Debug)]
pub struct TraceBuffer {
    records: Vec<Record>,
    capacity: usize,
    dropped: u64,
}

impl TraceBuffer {
    /// An empty buffer for `capacity` records, or `None` if the heap cannot
    /// hold them.
    pub fn with_capacity(capacity: usize) -> Option<Self> {
        let mut records = Vec::new();
        records.try_reserve_exact(capacity).ok()?;
        Some(Self {
            records,
            capacity,
            dropped: 0,
        })
    }

    /// Keeps `record`, or counts it as dropped when the buffer is full.
    pub fn push(&mut self, record: Record) {
        if self.records.len() < self.capacity {
            self.records.push(record);
        } else {
            self.dropped += 1;
        }
    }

    /// The records kept, oldest first.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Records that did not fit.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_abi::trace::Kind;

    fn at(tsc: u64) -> Record {
        Record {
            tsc,
            duration: 0,
            domain: 1,
            kind: Kind::Timer,
            detail: 0,
            value: 0,
            argument: 0,
            result: 0,
        }
    }

    #[test]
    fn keeps_the_first_records_and_counts_the_rest() {
        let mut buffer = TraceBuffer::with_capacity(2).unwrap();
        for tsc in 0..5 {
            buffer.push(at(tsc));
        }
        assert_eq!(buffer.records(), &[at(0), at(1)]);
        assert_eq!(buffer.dropped(), 3);
    }

    #[test]
    fn an_absurd_capacity_is_refused_not_a_crash() {
        assert!(TraceBuffer::with_capacity(usize::MAX).is_none());
    }
}
