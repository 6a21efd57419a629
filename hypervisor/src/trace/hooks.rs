//! The traced entry points and the dump.
//!
//! Each wrapper notes the current domain (and what it asked for) before
//! the real exit path runs, then compares: a different domain afterwards is
//! a switch, a frame now at the domain's callback is an upcall, a grown
//! reflected-exception count is a reflection, and a grown block count is
//! completed requests.

use shared_abi::trace::{Header, Kind, Record};
use spin::Mutex;

use super::buffer::TraceBuffer;
use crate::arch::x86_64::frame::{Fast, ScratchFrame, TrapFrame};
use crate::arch::x86_64::trap::Exit;
use crate::arch::x86_64::{cpu, debugcon};
use crate::dispatch;
use crate::domain::State;
use crate::domain::table::{DOMAINS, DomainTable};

/// The recording, once tracing is on.
static BUFFER: Mutex<Option<TraceBuffer>> = Mutex::new(None);
/// The exit being served, noted before the exit path runs: the one that
/// ends the run never returns to be recorded, so the dump records it.
static PENDING: Mutex<Option<Record>> = Mutex::new(None);

/// Turns tracing on with room for `capacity` records; `false` if the heap
/// cannot hold them (the boot then runs untraced).
pub fn enable(capacity: usize) -> bool {
    match TraceBuffer::with_capacity(capacity) {
        Some(buffer) => {
            *BUFFER.lock() = Some(buffer);
            true
        }
        None => false,
    }
}

fn push(record: Record) {
    if let Some(buffer) = BUFFER.lock().as_mut() {
        buffer.push(record);
    }
}

fn id(raw: u32) -> u16 {
    u16::try_from(raw).unwrap_or(u16::MAX)
}

/// The current domain, as the tracer needs it.
#[derive(Clone, Copy)]
struct Seen {
    domain: u16,
    callback: u64,
    reflected: u64,
    /// In guest-user mode: a `syscall` is a system call, not a hypercall.
    user: bool,
}

fn seen(table: &mut DomainTable) -> Seen {
    let domain = table.caller();
    Seen {
        domain: id(domain.id()),
        callback: domain.callback(),
        reflected: domain.counters().reflected_faults(),
        user: domain.privilege().is_user(),
    }
}

fn event(tsc: u64, end: u64, domain: u16, kind: Kind) -> Record {
    Record {
        tsc,
        duration: u32::try_from(end.saturating_sub(tsc)).unwrap_or(u32::MAX),
        domain,
        kind,
        detail: 0,
        value: 0,
        argument: 0,
        result: 0,
    }
}

/// The fast hypercall path, traced.
pub extern "C" fn hypercall_fast(frame: &mut ScratchFrame) -> Fast {
    let tsc = cpu::rdtsc();
    let (number, argument) = (frame.rax, frame.rdi);
    let before = seen(&mut DOMAINS.lock());
    let fast = dispatch::hypercall_fast(frame);
    if fast == Fast::Unserved {
        // The full exit path serves it, and `exit` records it.
        return fast;
    }
    let end = cpu::rdtsc();
    push(Record {
        value: number,
        argument,
        result: frame.rax,
        ..event(tsc, end, before.domain, Kind::Hypercall)
    });
    // Resumed at the callback: an upcall was delivered (by this call, or
    // by `iret` finding another one due).
    if fast == Fast::Iret && frame.rip == before.callback {
        push(Record {
            value: frame.rip,
            ..event(end, end, before.domain, Kind::Upcall)
        });
    }
    fast
}

/// The system-call path (a `syscall` from guest-user mode), traced.
pub extern "C" fn system_call_fast(frame: &mut ScratchFrame) -> Fast {
    let tsc = cpu::rdtsc();
    let (number, argument) = (frame.rax, frame.rdi);
    let before = seen(&mut DOMAINS.lock());
    let fast = dispatch::system_call_fast(frame);
    if fast == Fast::Unserved {
        // The full exit path stops the domain, and `exit` records it.
        return fast;
    }
    push(Record {
        value: number,
        argument,
        ..event(tsc, cpu::rdtsc(), before.domain, Kind::SystemCall)
    });
    fast
}

/// The exit path, traced.
pub fn exit(frame: &mut TrapFrame, exit: Exit) {
    let tsc = cpu::rdtsc();
    let (number, argument, rip) = (frame.scratch.rax, frame.scratch.rdi, frame.scratch.rip);
    let before = seen(&mut DOMAINS.lock());
    if matches!(exit, Exit::Hypercall) && !before.user {
        *PENDING.lock() = Some(Record {
            value: number,
            argument,
            result: u64::MAX,
            ..event(tsc, tsc, before.domain, Kind::Hypercall)
        });
    }
    dispatch::exit(frame, exit);
    *PENDING.lock() = None;
    let end = cpu::rdtsc();
    let mut table = DOMAINS.lock();
    let after = seen(&mut table);
    let same = after.domain == before.domain;
    let at = |kind| event(tsc, end, before.domain, kind);
    let record = match exit {
        Exit::Hypercall if before.user => Some(Record {
            value: number,
            argument,
            ..at(Kind::SystemCall)
        }),
        Exit::Hypercall => Some(Record {
            value: number,
            argument,
            result: if same { frame.scratch.rax } else { u64::MAX },
            ..at(Kind::Hypercall)
        }),
        // Recorded by the fast path, which served it.
        Exit::HypercallServed => None,
        Exit::Exception {
            vector,
            fault_address,
            ..
        } => {
            let domain = table.domain(u32::from(before.domain));
            let stopped = domain.as_ref().is_none_or(|d| d.state() == State::Stopped);
            let reflected = domain.is_some_and(|d| {
                d.counters().reflected_faults() > before.reflected
                    || (same && frame.scratch.rip != rip)
            });
            let (kind, detail) = match (stopped, reflected) {
                (true, _) => (Kind::Stopped, vector),
                (false, true) => (Kind::Reflected, vector),
                (false, false) => (Kind::ShadowFill, vector),
            };
            Some(Record {
                detail,
                value: fault_address,
                ..at(kind)
            })
        }
        Exit::Timer => Some(at(Kind::Timer)),
        Exit::Device => Some(at(Kind::Device)),
    };
    if let Some(record) = record {
        push(record);
    }
    if !same {
        push(Record {
            value: u64::from(after.domain),
            ..event(end, end, before.domain, Kind::Switch)
        });
    }
    if frame.scratch.rip == after.callback && (frame.scratch.rip != rip || !same) {
        push(Record {
            value: after.callback,
            ..event(end, end, after.domain, Kind::Upcall)
        });
    }
}

/// Writes the recording (header, domain names, records) to the debug
/// console; nothing when tracing is off.
pub fn dump(table: &DomainTable) {
    if let Some(last) = PENDING.lock().take() {
        push(Record {
            duration: u32::try_from(cpu::rdtsc().saturating_sub(last.tsc)).unwrap_or(u32::MAX),
            ..last
        });
    }
    let Some(buffer) = BUFFER.lock().take() else {
        return;
    };
    let header = Header {
        tsc_hz: crate::time::tsc_hz(),
        records: buffer.records().len() as u64,
        dropped: buffer.dropped(),
        domains: table.iter().count() as u32,
    };
    debugcon::write(&header.encode());
    for (domain, name) in table.iter().map(|d| (id(d.id()), d.name())) {
        let name = &name.as_bytes()[..name.len().min(u8::MAX as usize)];
        debugcon::write(&domain.to_le_bytes());
        debugcon::write(&[name.len() as u8]);
        debugcon::write(name);
    }
    for record in buffer.records() {
        debugcon::write(&record.encode());
    }
    log::info!(
        "trace: {} records written to the debug console ({} dropped)",
        buffer.records().len(),
        buffer.dropped()
    );
}
