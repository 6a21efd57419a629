//! Scenarios that debug with gdb: QEMU boots with a debugger's line (see
//! `cargo xtask gdb`), and while it runs, gdb sessions run one after
//! another against it in batch mode, each with a timeout; each session's
//! output must contain what the scenario expects of it. The serial log is
//! then checked as for any scenario.
//!
//! A scenario may first send the debugger's port raw bytes (`noise`, a
//! hostile peer), and a session may be interrupted with Ctrl-C (SIGINT to
//! gdb) once it has resumed the domain, or end itself without detaching
//! (`shell kill -9 $PPID`, as a debugger that dies would).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::gdb;

/// Time each gdb session may take.
const SESSION_TIMEOUT: Duration = Duration::from_secs(60);
/// Time the debugger's port may take to open.
const PORT_TIMEOUT: Duration = Duration::from_secs(20);
/// The command a session that is interrupted runs just before it resumes
/// the domain: gdb's own output may sit in a buffer, but a shell command's
/// goes straight to the pipe the harness reads.
pub const MARK_RESUME: &str = "shell echo resuming the domain";
/// What [`MARK_RESUME`] prints.
const RESUMING: &str = "resuming the domain";

/// What a scenario debugs, and how.
#[derive(Clone, Debug)]
pub struct Debugging {
    /// The domain (`gdb=` on the hypervisor's command line), or `None`
    /// for the hypervisor itself through QEMU's stub.
    pub domain: Option<&'static str>,
    /// The guest binary whose symbols gdb loads (ignored for the
    /// hypervisor).
    pub symbols: &'static str,
    /// Bytes sent to the debugger's port before the first session.
    pub noise: Vec<u8>,
    pub sessions: Vec<GdbSession>,
}

/// One gdb run: its commands (after `target remote`) and what its output
/// must contain.
#[derive(Clone, Debug)]
pub struct GdbSession {
    pub commands: Vec<String>,
    pub expect: Vec<String>,
    /// Send gdb SIGINT this long after [`MARK_RESUME`] ran.
    pub interrupt: Option<Duration>,
}

impl GdbSession {
    /// A session running `commands`.
    pub fn new(commands: &[&str]) -> Self {
        Self {
            commands: commands.iter().map(|c| c.to_string()).collect(),
            expect: Vec::new(),
            interrupt: None,
        }
    }

    /// The output must contain `text`.
    pub fn expect(mut self, text: &str) -> Self {
        self.expect.push(text.into());
        self
    }

    /// Ctrl-C, `delay` after gdb has resumed the domain (its commands run
    /// [`MARK_RESUME`] just before they do).
    pub fn interrupt(mut self, delay: Duration) -> Self {
        self.interrupt = Some(delay);
        self
    }
}

/// A gdb packet: `$body#checksum`.
pub fn packet(body: &str) -> Vec<u8> {
    let sum = body.bytes().fold(0u8, |sum, byte| sum.wrapping_add(byte));
    format!("${body}#{sum:02x}").into_bytes()
}

/// Runs `qemu` (which boots with the debugger's line on `port`) while the
/// sessions run against it, with `symbols` loaded. Returns what `qemu`
/// returned, the transcript of the sessions, and the first thing that did
/// not go as expected.
pub fn run<T: Send>(
    debugging: &Debugging,
    port: u16,
    symbols: &Path,
    qemu: impl FnOnce() -> T + Send,
) -> (T, String, Result<(), String>) {
    thread::scope(|scope| {
        let machine = scope.spawn(qemu);
        let mut transcript = String::new();
        let result = debug(debugging, port, symbols, &mut transcript);
        match machine.join() {
            Ok(ran) => (ran, transcript, result),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// The noise, then each session in turn, stopping at the first whose
/// output lacks something.
fn debug(
    debugging: &Debugging,
    port: u16,
    symbols: &Path,
    transcript: &mut String,
) -> Result<(), String> {
    let gdb = gdb::find()?;
    if !debugging.noise.is_empty() {
        send_noise(port, &debugging.noise)?;
    }
    for (number, session) in debugging.sessions.iter().enumerate() {
        let output = run_session(&gdb, symbols, port, session)?;
        transcript.push_str(&format!("--- gdb session {} ---\n{output}", number + 1));
        if let Some(missing) = session.expect.iter().find(|text| !output.contains(*text)) {
            return Err(format!(
                "gdb session {} did not show `{missing}`",
                number + 1
            ));
        }
    }
    Ok(())
}

/// Connects to the debugger's port once it is open, sends `bytes`, reads
/// what comes back for a moment and hangs up.
fn send_noise(port: u16, bytes: &[u8]) -> Result<(), String> {
    let started = Instant::now();
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => break stream,
            Err(_) if started.elapsed() < PORT_TIMEOUT => thread::sleep(Duration::from_millis(50)),
            Err(error) => return Err(format!("cannot connect to the debugger's port: {error}")),
        }
    };
    stream
        .write_all(bytes)
        .map_err(|error| format!("cannot send to the debugger's port: {error}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut replies = [0u8; 4096];
    while let Ok(count) = stream.read(&mut replies) {
        if count == 0 {
            break;
        }
    }
    Ok(())
}

/// Runs one gdb session to its end (or its timeout); its output, stdout
/// then stderr.
fn run_session(
    gdb: &Path,
    symbols: &Path,
    port: u16,
    session: &GdbSession,
) -> Result<String, String> {
    let mut command = gdb::command(gdb, symbols, port);
    command.args(["-nx", "-batch"]);
    for line in &session.commands {
        command.args(["-ex", line]);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", gdb.display()))?;
    let stdout = Arc::new(Mutex::new(String::new()));
    let readers = [
        child
            .stdout
            .take()
            .map(|pipe| collect(pipe, stdout.clone())),
        child
            .stderr
            .take()
            .map(|pipe| collect(pipe, Arc::new(Mutex::new(String::new())))),
    ];
    let timed_out = supervise(&mut child, session.interrupt, &stdout);
    let mut output = String::new();
    for reader in readers.into_iter().flatten() {
        output.push_str(&reader.join().unwrap_or_default());
    }
    if timed_out {
        output.push_str(&format!(
            "(gdb killed after {}s)\n",
            SESSION_TIMEOUT.as_secs()
        ));
    }
    Ok(output)
}

/// Waits for gdb, sending it SIGINT `interrupt` after its output shows it
/// is about to resume the domain; kills it at the timeout (returning
/// `true`).
fn supervise(child: &mut Child, interrupt: Option<Duration>, stdout: &Mutex<String>) -> bool {
    let deadline = Instant::now() + SESSION_TIMEOUT;
    if let Some(delay) = interrupt {
        let resumed = || stdout.lock().is_ok_and(|text| text.contains(RESUMING));
        match wait_until(child, deadline, resumed) {
            Waited::Condition => {}
            Waited::Exited => return false,
            Waited::TimedOut => return true,
        }
        thread::sleep(delay);
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
    }
    wait_until(child, deadline, || false) == Waited::TimedOut
}

/// How [`wait_until`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waited {
    Condition,
    Exited,
    /// The child was killed at the deadline.
    TimedOut,
}

/// Waits until `condition` holds or the child exits, killing it at
/// `deadline`.
fn wait_until(child: &mut Child, deadline: Instant, condition: impl Fn() -> bool) -> Waited {
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return Waited::Exited;
        }
        if condition() {
            return Waited::Condition;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Waited::TimedOut;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Reads a pipe to its end on its own thread, into `text` as it arrives;
/// returns the whole text.
fn collect(
    mut pipe: impl Read + Send + 'static,
    text: Arc<Mutex<String>>,
) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(count) = pipe.read(&mut chunk) {
            if count == 0 {
                break;
            }
            if let Ok(mut text) = text.lock() {
                text.push_str(&String::from_utf8_lossy(&chunk[..count]));
            }
        }
        text.lock().map(|text| text.clone()).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_carry_their_checksum() {
        assert_eq!(packet("g"), b"$g#67");
        assert_eq!(packet(""), b"$#00");
        assert_eq!(packet("m0,4"), b"$m0,4#fd");
    }
}
