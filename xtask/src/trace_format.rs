//! Reading the hypervisor's trace dump (`shared_abi::trace`) and writing it
//! as Chrome/Perfetto trace-event JSON, with a summary of hypercalls by
//! count and time per domain.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use shared_abi::Hypercall;
use shared_abi::trace::{HEADER_BYTES, HYPERVISOR, Header, Kind, RECORD_BYTES, Record};

/// A decoded dump.
#[derive(Debug)]
pub struct Trace {
    /// TSC ticks per second.
    pub tsc_hz: u64,
    /// Records that did not fit the hypervisor's buffer.
    pub dropped: u64,
    /// Domain names by id.
    pub names: BTreeMap<u16, String>,
    /// The records, in the order they were taken.
    pub records: Vec<Record>,
}

/// Decodes a dump; a truncated or malformed one is an error naming what
/// is wrong.
pub fn decode(bytes: &[u8]) -> Result<Trace, String> {
    let header_bytes: &[u8; HEADER_BYTES] = bytes
        .get(..HEADER_BYTES)
        .and_then(|b| b.try_into().ok())
        .ok_or("the trace is empty or shorter than its header")?;
    let header = Header::decode(header_bytes).ok_or("the trace does not start with PVTRACE1")?;
    if header.tsc_hz == 0 {
        return Err("the trace gives no TSC frequency".into());
    }
    let mut at = HEADER_BYTES;
    let mut names = BTreeMap::new();
    for _ in 0..header.domains {
        let fixed = bytes
            .get(at..at + 3)
            .ok_or("the trace ends in its domain names")?;
        let id = u16::from_le_bytes([fixed[0], fixed[1]]);
        let len = fixed[2] as usize;
        let name = bytes
            .get(at + 3..at + 3 + len)
            .ok_or("the trace ends in its domain names")?;
        names.insert(id, String::from_utf8_lossy(name).into_owned());
        at += 3 + len;
    }
    let count = usize::try_from(header.records).map_err(|_| "absurd record count")?;
    let body = bytes
        .get(at..)
        .filter(|rest| rest.len() / RECORD_BYTES >= count)
        .ok_or_else(|| format!("the trace promises {count} records but ends before them"))?;
    let records = body
        .chunks_exact(RECORD_BYTES)
        .take(count)
        .enumerate()
        .map(|(index, chunk)| {
            let chunk: &[u8; RECORD_BYTES] = chunk.try_into().map_err(|_| "short record")?;
            Record::decode(chunk).ok_or_else(|| format!("record {index} has an unknown kind"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Trace {
        tsc_hz: header.tsc_hz,
        dropped: header.dropped,
        names,
        records,
    })
}

/// The name of the event `record` shows as.
pub fn event_name(record: &Record) -> String {
    match record.kind {
        Kind::Hypercall => Hypercall::from_number(record.value).map_or_else(
            || format!("hypercall {}", record.value),
            |c| c.name().to_string(),
        ),
        Kind::Reflected => format!("exception {}", record.detail),
        Kind::Stopped => format!("stopped (vector {})", record.detail),
        Kind::Switch => format!("switch to {}", record.value),
        Kind::SystemCall => format!("system call {}", record.value),
        kind => kind.name().to_string(),
    }
}

/// What a slice's details show, named for its kind.
fn args(record: &Record) -> Value {
    let hex = |value: u64| format!("{value:#x}");
    match record.kind {
        Kind::Hypercall => json!({
            "number": record.value,
            "first argument": hex(record.argument),
            "result": if record.result == u64::MAX { "(another domain ran next)".into() } else { hex(record.result) },
        }),
        Kind::ShadowFill => json!({ "address": hex(record.value) }),
        Kind::Reflected | Kind::Stopped => {
            json!({ "vector": record.detail, "address": hex(record.value) })
        }
        Kind::Upcall => json!({ "entry": hex(record.value) }),
        Kind::SystemCall => {
            json!({ "number": record.value, "first argument": hex(record.argument) })
        }
        _ => json!({}),
    }
}

impl Trace {
    fn micros(&self, ticks: u64) -> f64 {
        ticks as f64 * 1e6 / self.tsc_hz as f64
    }

    fn track_name(&self, domain: u16) -> String {
        match (domain, self.names.get(&domain)) {
            (HYPERVISOR, _) => "hypervisor".into(),
            (_, Some(name)) => format!("{domain} {name}"),
            (_, None) => format!("domain {domain}"),
        }
    }

    /// The trace as `{"traceEvents": [...]}`: one track (thread) per
    /// domain and one for the hypervisor, times in microseconds from the
    /// first record.
    pub fn to_json(&self) -> Value {
        let start = self.records.iter().map(|r| r.tsc).min().unwrap_or(0);
        let mut events = vec![json!({
            "name": "process_name", "ph": "M", "pid": 1,
            "args": {"name": "microhypervisor"}
        })];
        let tracks = std::iter::once(HYPERVISOR).chain(self.names.keys().copied());
        for domain in tracks {
            events.push(json!({
                "name": "thread_name", "ph": "M", "pid": 1, "tid": domain,
                "args": {"name": self.track_name(domain)}
            }));
        }
        for record in &self.records {
            let ts = self.micros(record.tsc - start);
            let name = event_name(record);
            let event = match record.kind {
                Kind::Switch => json!({
                    "name": name, "cat": record.kind.name(), "ph": "i", "s": "g",
                    "ts": ts, "pid": 1, "tid": HYPERVISOR,
                    "args": {"from": record.domain, "to": record.value}
                }),
                Kind::BlockRequests => json!({
                    "name": name, "cat": record.kind.name(), "ph": "i", "s": "t",
                    "ts": ts, "pid": 1, "tid": record.domain,
                    "args": {"requests": record.value}
                }),
                kind => json!({
                    "name": name, "cat": kind.name(), "ph": "X",
                    "ts": ts, "dur": self.micros(record.duration as u64),
                    "pid": 1, "tid": record.domain,
                    "args": args(record),
                }),
            };
            events.push(event);
        }
        json!({ "traceEvents": events })
    }

    /// Per domain, each event name with its count and total time in the
    /// hypervisor (ticks).
    pub fn counts(&self) -> BTreeMap<u16, BTreeMap<String, (u64, u64)>> {
        let mut counts: BTreeMap<u16, BTreeMap<String, (u64, u64)>> = BTreeMap::new();
        for record in &self.records {
            let (n, ticks) = counts
                .entry(record.domain)
                .or_default()
                .entry(event_name(record))
                .or_default();
            *n += match record.kind {
                Kind::BlockRequests => record.value,
                _ => 1,
            };
            *ticks += record.duration as u64;
        }
        counts
    }

    /// The summary `cargo xtask trace` prints: per domain, its events by
    /// count, with their time in the hypervisor.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "{} records{}\n",
            self.records.len(),
            match self.dropped {
                0 => String::new(),
                n => format!(" ({n} more did not fit the buffer)"),
            }
        );
        for (domain, events) in self.counts() {
            out += &format!("{}:\n", self.track_name(domain));
            let mut rows: Vec<_> = events.into_iter().collect();
            rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
            for (name, (count, ticks)) in rows {
                out += &format!("  {count:>9}  {:>12.1} us  {name}\n", self.micros(ticks));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(records: &[Record], names: &[(u16, &str)]) -> Vec<u8> {
        let header = Header {
            tsc_hz: 1_000_000,
            records: records.len() as u64,
            dropped: 0,
            domains: names.len() as u32,
        };
        let mut out = header.encode().to_vec();
        for (id, name) in names {
            out.extend_from_slice(&id.to_le_bytes());
            out.push(name.len() as u8);
            out.extend_from_slice(name.as_bytes());
        }
        for record in records {
            out.extend_from_slice(&record.encode());
        }
        out
    }

    fn record(kind: Kind, domain: u16, value: u64, tsc: u64) -> Record {
        Record {
            tsc,
            duration: 2,
            domain,
            kind,
            detail: 0,
            value,
            argument: 0,
            result: 0,
        }
    }

    #[test]
    fn system_calls_are_named_apart_from_hypercalls() {
        // System call 0 is not `abi_version`: user code's numbers are its
        // kernel's, not the hypervisor's.
        let call = record(Kind::SystemCall, 1, 0, 10);
        assert_eq!(event_name(&call), "system call 0");
        assert_eq!(args(&call)["number"], 0);
        assert_eq!(event_name(&record(Kind::Hypercall, 1, 0, 10)), "abi_version");
    }

    #[test]
    fn a_dump_becomes_tracks_and_counts() {
        let records = [
            record(Kind::Hypercall, 1, Hypercall::AbiVersion as u64, 10),
            record(Kind::Hypercall, 1, Hypercall::AbiVersion as u64, 20),
            record(Kind::Switch, 1, 2, 30),
            record(Kind::ShadowFill, 2, 0x4000, 40),
            record(Kind::BlockRequests, 2, 3, 50),
        ];
        let trace = decode(&dump(&records, &[(1, "alpha"), (2, "beta")])).unwrap();
        let json = trace.to_json();
        let events = json["traceEvents"].as_array().unwrap();
        // Process name, three tracks, five records.
        assert_eq!(events.len(), 1 + 3 + 5);
        assert_eq!(events[2]["args"]["name"], "1 alpha");
        assert_eq!(events[4]["name"], "abi_version");
        assert_eq!(events[4]["tid"], 1);
        assert_eq!(events[5]["ts"], 10.0);
        let counts = trace.counts();
        assert_eq!(counts[&1]["abi_version"], (2, 4));
        assert_eq!(counts[&2]["block requests"].0, 3);
        assert!(trace.summary().contains("1 alpha:"));
    }

    #[test]
    fn malformed_dumps_are_refused_with_a_reason() {
        assert!(decode(&[]).unwrap_err().contains("shorter than its header"));
        let mut bytes = dump(&[record(Kind::Timer, 1, 0, 1)], &[(1, "a")]);
        bytes.truncate(bytes.len() - 1);
        assert!(decode(&bytes).unwrap_err().contains("ends before them"));
        let mut bytes = dump(&[], &[]);
        bytes[0] = b'Q';
        assert!(decode(&bytes).unwrap_err().contains("PVTRACE1"));
        let mut bytes = dump(&[record(Kind::Timer, 1, 0, 1)], &[]);
        let kind_at = HEADER_BYTES + 14;
        bytes[kind_at] = 99;
        assert!(decode(&bytes).unwrap_err().contains("unknown kind"));
    }
}
