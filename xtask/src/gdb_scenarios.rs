//! The scenarios that debug with gdb (names start with `gdb-`): a
//! breakpoint, the backtrace, variables and a step in a domain while
//! another runs; Ctrl-C and a write to guest memory; a fault stopping the
//! domain for gdb before it is contained; `kill`; a hostile peer on the
//! debugger's port and a debugger that dies without detaching; and the
//! hypervisor itself through QEMU's stub. Each guest must then run to
//! completion (or, for the fault and `kill`, be stopped) with the
//! hypervisor unharmed.

use std::time::Duration;

use shared_abi::exit::HvExit;

use crate::gdb_scenario::{Debugging, GdbSession, MARK_RESUME, packet};
use crate::scenario::Scenario;

/// Time each gdb scenario may take.
const TIMEOUT: Duration = Duration::from_secs(90);

/// A scenario debugging domain `alpha` (guest `bin` with `args`) while
/// domain `beta` runs and finishes.
fn beside_beta(name: &'static str, exit: HvExit, bin: &'static str, args: &str) -> Scenario {
    Scenario::new(name, exit)
        .guest("alpha", bin, args)
        .guest("beta", "hello", "")
        .finishes("beta")
        .timeout(TIMEOUT)
}

/// Debugging domain `alpha`, the `gdb-target` guest, with these sessions.
fn alpha(sessions: Vec<GdbSession>) -> Debugging {
    Debugging {
        domain: Some("alpha"),
        symbols: "gdb-target",
        noise: Vec::new(),
        sessions,
    }
}

/// What a peer that is not gdb might send the debugger's port: stray
/// bytes, bad checksums, a negative acknowledgement, Ctrl-C, well-formed
/// packets reaching for the hypervisor's memory or past the domain's, a
/// malformed register write, a greeting with a bad checksum and packets
/// longer than any buffer.
fn noise() -> Vec<u8> {
    let mut bytes = b"garbage\x00\xff$m0,4#00+-\x03".to_vec();
    for body in [
        "mffff800000000000,100",
        "M0,4:deadbeef",
        "Xffff800000000000,1:x",
        "Z0,ffff800000001000,1",
        "m0,ffffffffffffffff",
        "G00",
        "g",
        "zz",
    ] {
        bytes.extend(packet(body));
    }
    bytes.extend(b"$qSupported:bogus#00");
    bytes.extend(packet(&format!("m{}", "1".repeat(5000))));
    bytes.push(b'$');
    bytes.extend(std::iter::repeat_n(b'x', 10_000));
    bytes
}

/// The gdb scenarios.
pub fn all() -> Vec<Scenario> {
    vec![
        beside_beta("gdb-breakpoint", HvExit::Success, "gdb-target", "")
            .debugger(alpha(vec![
                GdbSession::new(&[
                    "break gdb_target::square if round == 3",
                    "continue",
                    "bt",
                    "print round",
                    "print gdb_target::TOTAL",
                    "step",
                    "stepi",
                    "info registers rip",
                    "detach",
                ])
                .expect("Breakpoint 1, gdb_target::square (round=3) at")
                .expect("gdb-target.rs:")
                .expect("in gdb_target::main")
                .expect("$1 = 3")
                .expect("value: 5")
                .expect("gdb_target::multiply (a=3, b=3)")
                .expect("<gdb_target::multiply+")
                .expect("[Inferior 1 (process 1) detached]"),
            ]))
            .line("gdb: domain 1 'alpha' waits for a debugger on COM2")
            .line("gdb: debugger attached to domain 1")
            .line("gdb: debugger detached from domain 1")
            .line("[alpha] sum of squares 30")
            .finishes("alpha"),
        beside_beta("gdb-interrupt", HvExit::Success, "gdb-target", "wait")
            .debugger(alpha(vec![
                GdbSession::new(&[
                    MARK_RESUME,
                    "continue",
                    "bt",
                    "set var gdb_target::RELEASE.v.value = 1",
                    "print gdb_target::RELEASE",
                    "detach",
                ])
                .interrupt(Duration::from_millis(1500))
                .expect("Program received signal SIGINT")
                .expect("gdb_target::main")
                .expect("value: 1")
                .expect("[Inferior 1 (process 1) detached]"),
            ]))
            .line("[alpha] released")
            .finishes("alpha"),
        beside_beta("gdb-fault", HvExit::DomainFailed, "fault", "page-fault")
            .debugger(Debugging {
                symbols: "fault",
                ..alpha(vec![
                    GdbSession::new(&[
                        "continue",
                        "bt",
                        "x/2x 0xffff800000000000",
                        "x/2x 0",
                        "continue",
                    ])
                    .expect("Program received signal SIGSEGV")
                    .expect("#0  fault::main")
                    .expect("Cannot access memory at address 0xffff800000000000")
                    .expect("Cannot access memory at address 0x0")
                    .expect("Program terminated with signal SIGSEGV"),
                ])
            })
            .stopped(
                "alpha",
                "page fault at 0xdead0000 (read of an unmapped page)",
            ),
        beside_beta("gdb-kill", HvExit::DomainFailed, "gdb-target", "")
            .debugger(alpha(vec![
                GdbSession::new(&["break gdb_target::square", "continue", "kill"])
                    .expect("Breakpoint 1, gdb_target::square (round=1)"),
            ]))
            .line("gdb: the debugger killed domain 1")
            .line("hv: result: domain 1 'alpha' stopped")
            .forbid("[alpha] done"),
        beside_beta("gdb-hostile", HvExit::Success, "gdb-target", "")
            .debugger(Debugging {
                noise: noise(),
                ..alpha(vec![
                    GdbSession::new(&[
                        "set var *(0xffff800000000000 as *mut u64) = 0",
                        "set var $rip = 0xffff800000000000",
                        "print $rip",
                        "break gdb_target::multiply",
                        "continue",
                        "shell kill -9 $PPID",
                    ])
                    .expect("Cannot access memory at address 0xffff800000000000")
                    .expect("Could not write registers")
                    .expect("Breakpoint 1, gdb_target::multiply"),
                    GdbSession::new(&["bt", "info breakpoints", "continue"])
                        .expect("gdb_target::square (round=1)")
                        .expect("No breakpoints or watchpoints.")
                        .expect("[Inferior 1 (process 1) exited normally]"),
                ])
            })
            .line("hv: warning: gdb: ")
            .line("malformed packets refused")
            .line("[alpha] sum of squares 30")
            .finishes("alpha")
            .forbid("FATAL"),
        Scenario::new("gdb-hypervisor", HvExit::Success)
            .guest("hello", "hello", "")
            .debugger(Debugging {
                domain: None,
                symbols: "",
                noise: Vec::new(),
                sessions: vec![
                    GdbSession::new(&["break hypervisor::init::run", "continue", "bt", "detach"])
                        .expect("Breakpoint 1, hypervisor::init::run")
                        .expect("in hypervisor::boot::hypervisor_main")
                        .expect("[Inferior 1 (process 1) detached]"),
                ],
            })
            .finishes("hello")
            .timeout(TIMEOUT),
    ]
}
