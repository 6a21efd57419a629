//! Booting the hypervisor under QEMU.
//!
//! A [`Boot`] describes one QEMU run (hypervisor ELF, bundle, command line,
//! accelerator). [`Boot::run_attached`] gives QEMU the terminal (for
//! `cargo xtask run`), echoing and keeping its output; [`Boot::run_captured`]
//! collects its output for a test. Both kill QEMU when the timeout, if any,
//! expires. [`Boot::shell_command`] is the exact command line, quoted for a
//! shell (`--print-qemu`).

use std::fs::OpenOptions;
use std::io::Read;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// The QEMU binary this project boots with.
pub const QEMU: &str = "qemu-system-x86_64";
/// Machine memory when nothing asks for more (`-m`).
pub const DEFAULT_MACHINE_MEMORY: u64 = 512 << 20;
/// Time QEMU gets to exit after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(2);

/// The accelerator the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccelChoice {
    Auto,
    Kvm,
    Tcg,
}

/// The accelerator QEMU is started with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
    /// TCG with `-icount shift=0,sleep=off`: the guest-visible TSC advances
    /// by exactly one per instruction executed, so TSC deltas are
    /// instruction counts and a run is deterministic.
    TcgIcount,
}

impl Accel {
    /// Picks KVM for `Auto` when `/dev/kvm` can be opened read-write, else TCG.
    pub fn resolve(choice: AccelChoice) -> Result<Accel, String> {
        match choice {
            AccelChoice::Tcg => Ok(Accel::Tcg),
            AccelChoice::Kvm if kvm_usable() => Ok(Accel::Kvm),
            AccelChoice::Kvm => {
                Err("--accel kvm: /dev/kvm cannot be opened read-write".to_string())
            }
            AccelChoice::Auto if kvm_usable() => Ok(Accel::Kvm),
            AccelChoice::Auto => Ok(Accel::Tcg),
        }
    }

    /// The value of QEMU's `-cpu` option: the default model plus the
    /// protections the hypervisor turns on (SMEP, SMAP, and UMIP, which
    /// keeps `sgdt`/`sidt`/`sldt`/`smsw`/`str` from revealing its tables).
    /// Under KVM a feature the host lacks is dropped by QEMU with a
    /// warning, and the hypervisor reports the hole that leaves.
    pub fn cpu_model(self) -> &'static str {
        "qemu64,+smep,+smap,+umip"
    }

    /// The value of QEMU's `-accel` option.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg | Accel::TcgIcount => "tcg",
        }
    }

    /// How reports name the mode: `kvm`, `tcg` or `tcg-icount`.
    pub fn label(self) -> &'static str {
        match self {
            Accel::TcgIcount => "tcg-icount",
            other => other.name(),
        }
    }

    /// The `-icount` shift this accelerator runs with, given what the boot
    /// asks for: `TcgIcount` counts one instruction per nanosecond, plain
    /// TCG whatever the boot says, KVM never.
    fn icount_shift(self, asked: Option<u8>) -> Option<u8> {
        match self {
            Accel::TcgIcount => Some(0),
            Accel::Tcg => asked,
            Accel::Kvm => None,
        }
    }
}

fn kvm_usable() -> bool {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

/// Finds QEMU on `PATH`, or explains how to install it.
pub fn find() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join(QEMU)).find(|candidate| candidate.is_file()).ok_or_else(|| {
        format!("{QEMU} not found: install it with `sudo apt-get install qemu-system-x86` (Debian/Ubuntu)")
    })
}

/// How the serial output is read while QEMU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadPace {
    /// As fast as it arrives.
    Eager,
    /// As a slow terminal would: small reads with a delay between them
    /// and a long pause now and then, so QEMU's output pipe fills up and
    /// the guest machine's UART has to wait for the host.
    Slow,
}

impl ReadPace {
    /// Bytes per read, delay after each read, and a longer pause after
    /// every so many reads.
    const SLOW: (usize, Duration, usize, Duration) = (
        4096,
        Duration::from_millis(20),
        16,
        Duration::from_millis(300),
    );
}

/// What ends console input for every domain: the console's escape key
/// (Ctrl-A) then Ctrl-D.
pub const END_OF_INPUT: &[u8] = b"\x01\x04";

/// One QEMU run of the hypervisor.
#[derive(Clone, Debug)]
pub struct Boot {
    pub qemu: PathBuf,
    pub hypervisor: PathBuf,
    pub bundle: PathBuf,
    /// Words of the hypervisor's command line.
    pub cmdline: Vec<String>,
    pub accel: Accel,
    /// A raw disk image attached as a virtio-blk PCI device.
    pub disk: Option<PathBuf>,
    /// Machine memory in bytes (a whole number of MiB).
    pub memory: u64,
    /// Under TCG: virtual time counts instructions, `2^shift` ns each
    /// (`-icount`), so that it does not depend on what else the host runs.
    pub icount: Option<u8>,
    /// A file for QEMU's debug console (port 0xe9), where a traced
    /// hypervisor writes its trace.
    pub debugcon: Option<PathBuf>,
    /// Where a debugger attaches, if one does.
    pub debug: Option<DebugLink>,
}

/// How a debugger reaches the machine: a TCP port on this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugLink {
    /// The hypervisor's own debugger line (COM2), for a domain named with
    /// `gdb=` on its command line.
    Domain { port: u16 },
    /// QEMU's own gdb stub, with the machine stopped before its first
    /// instruction: the hypervisor itself is debugged.
    Hypervisor { port: u16 },
}

impl DebugLink {
    /// QEMU's options for it.
    fn qemu_args(self) -> Vec<String> {
        match self {
            DebugLink::Domain { port } => vec![
                "-serial".into(),
                format!("tcp:127.0.0.1:{port},server=on,wait=off"),
            ],
            DebugLink::Hypervisor { port } => {
                vec!["-gdb".into(), format!("tcp:127.0.0.1:{port}"), "-S".into()]
            }
        }
    }
}

/// A port on 127.0.0.1 that nothing listens on now (the system's choice).
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| format!("cannot find a free TCP port: {error}"))
}

/// A QEMU running in the background with its console in a file.
#[derive(Debug)]
pub struct Background {
    child: Child,
}

impl Background {
    /// Whether QEMU is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for QEMU to end, stopping it when `timeout` expires.
    pub fn wait(mut self, timeout: Duration) -> Result<Ending, String> {
        wait(&mut self.child, Some(timeout))
    }
}

/// How a QEMU run ended.
#[derive(Debug)]
pub enum Ending {
    Exited(ExitStatus),
    TimedOut(Duration),
    /// Killed on purpose when its output showed what was waited for.
    Killed,
}

/// Output of a captured run.
#[derive(Debug)]
pub struct Captured {
    pub ending: Ending,
    /// Everything the guest machine wrote to its serial port.
    pub serial: String,
    /// QEMU's own diagnostics.
    pub stderr: String,
}

impl Boot {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.qemu);
        command.arg("-kernel").arg(&self.hypervisor);
        command.arg("-initrd").arg(&self.bundle);
        command.arg("-append").arg(self.cmdline.join(" "));
        command.arg("-m").arg(format!("{}M", self.memory >> 20));
        command.args(["-display", "none", "-monitor", "none", "-serial", "stdio"]);
        command.args([
            "-no-reboot",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
        ]);
        command.args(["-accel", self.accel.name()]);
        if let Some(shift) = self.accel.icount_shift(self.icount) {
            command
                .arg("-icount")
                .arg(format!("shift={shift},sleep=off"));
        }
        command.args(["-cpu", self.accel.cpu_model()]);
        if let Some(file) = &self.debugcon {
            command
                .arg("-debugcon")
                .arg(format!("file:{}", file.display()));
        }
        if let Some(disk) = &self.disk {
            command.arg("-drive").arg(format!(
                "file={},format=raw,if=none,id=disk0",
                disk.display()
            ));
            command.args(["-device", "virtio-blk-pci,drive=disk0"]);
        }
        if let Some(link) = self.debug {
            command.args(link.qemu_args());
        }
        command
    }

    /// Starts QEMU in the background with [`END_OF_INPUT`] at its console
    /// and everything it writes (console and diagnostics) going to
    /// `console`, in a process group of its own (so that Ctrl-C at the
    /// terminal reaches the program in the foreground, not QEMU).
    pub fn start_background(&self, console: &Path) -> Result<Background, String> {
        use std::os::unix::process::CommandExt;
        let file = std::fs::File::create(console)
            .map_err(|error| format!("cannot create {}: {error}", console.display()))?;
        let errors = file
            .try_clone()
            .map_err(|error| format!("cannot share {}: {error}", console.display()))?;
        let mut command = self.command();
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(errors))
            .process_group(0);
        let mut child = spawn(command, &self.qemu)?;
        if let Some(mut pipe) = child.stdin.take() {
            thread::spawn(move || {
                let _ = pipe.write_all(END_OF_INPUT);
                // Held open: QEMU treats a closed stdin as a hang-up.
                thread::sleep(Duration::from_secs(u64::MAX / 4));
            });
        }
        Ok(Background { child })
    }

    /// The command line QEMU is started with, each word quoted for a
    /// POSIX shell where it needs it.
    pub fn shell_command(&self) -> String {
        let command = self.command();
        std::iter::once(command.get_program())
            .chain(command.get_args())
            .map(|word| shell_quote(&word.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs QEMU with the serial console on this process's stdout (echoed
    /// as it arrives, and returned). A terminal on stdin is handed to QEMU
    /// as it is (interactive use); any other stdin (a pipe, a file,
    /// /dev/null) is copied to the console and followed by
    /// [`END_OF_INPUT`], so the guests see its end. Ctrl-C at the terminal
    /// ends QEMU, not this process, so the caller still sees how it ended.
    pub fn run_attached(&self, timeout: Option<Duration>) -> Result<(Ending, String), String> {
        let mut command = self.command();
        command.stdout(Stdio::piped());
        let interactive = std::io::stdin().is_terminal();
        if !interactive {
            command.stdin(Stdio::piped());
        }
        let mut child = spawn(command, &self.qemu)?;
        ignore_interrupts();
        if let Some(mut pipe) = child.stdin.take() {
            thread::spawn(move || {
                let _ = std::io::copy(&mut std::io::stdin().lock(), &mut pipe);
                let _ = pipe.write_all(END_OF_INPUT);
                // Keep the pipe open: QEMU treats a closed stdin as a hang-up.
                thread::sleep(Duration::from_secs(u64::MAX / 4));
            });
        }
        let echo = child.stdout.take().map(tee);
        let ending = wait(&mut child, timeout);
        let serial = echo
            .map(|reader| reader.join().unwrap_or_default())
            .unwrap_or_default();
        Ok((ending?, serial))
    }

    /// Runs QEMU with no console input but [`END_OF_INPUT`], collecting
    /// its output.
    pub fn run_captured(&self, timeout: Duration) -> Result<Captured, String> {
        self.run_captured_with_input(timeout, END_OF_INPUT)
    }

    /// Runs QEMU with `input` typed at the console, collecting its output.
    pub fn run_captured_with_input(
        &self,
        timeout: Duration,
        input: &[u8],
    ) -> Result<Captured, String> {
        self.run_captured_until(timeout, input, None, None, ReadPace::Eager)
    }

    /// Like [`Boot::run_captured_with_input`], but QEMU is killed outright
    /// (SIGKILL, as a power cut would) once `kill_on.1` has passed since
    /// its output first contained `kill_on.0`, and its output is read at
    /// `pace`.
    /// The input is typed at once, or with `type_after` once the output
    /// contains that text.
    pub fn run_captured_until(
        &self,
        timeout: Duration,
        input: &[u8],
        type_after: Option<&str>,
        kill_on: Option<(&str, Duration)>,
        pace: ReadPace,
    ) -> Result<Captured, String> {
        let mut command = self.command();
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn(command, &self.qemu)?;
        let prompt = Watch::new(type_after);
        if let Some(mut pipe) = child.stdin.take() {
            let input = input.to_vec();
            let prompt = prompt.clone();
            thread::spawn(move || {
                while prompt.waiting() {
                    thread::sleep(Duration::from_millis(10));
                }
                let _ = pipe.write_all(&input);
                // Held open until QEMU exits (the write end then fails).
                thread::sleep(Duration::from_secs(u64::MAX / 4));
            });
        }
        let kill = Watch::new(kill_on.map(|(pattern, _)| pattern));
        let stdout = child
            .stdout
            .take()
            .map(|pipe| collect_watching(pipe, [kill.clone(), prompt], pace));
        let stderr = child.stderr.take().map(collect);
        let delay = kill_on.map_or(Duration::ZERO, |(_, delay)| delay);
        let ending = wait_or_kill(&mut child, timeout, &kill.seen, delay);
        // The readers end once QEMU (the only writer) has exited.
        let serial = stdout
            .map(|reader| reader.join().unwrap_or_default())
            .unwrap_or_default();
        let stderr = stderr
            .map(|reader| reader.join().unwrap_or_default())
            .unwrap_or_default();
        Ok(Captured {
            ending: ending?,
            serial,
            stderr,
        })
    }
}

/// Quotes `word` for a POSIX shell unless it is made only of characters
/// that need no quoting.
pub fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./=,:@%+".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Makes Ctrl-C (SIGINT) leave this process alone: QEMU (or gdb), which
/// handles it itself, gets it, and this process reports how things ended
/// and cleans up after them.
pub fn ignore_interrupts() {
    const SIGINT: i32 = 2;
    const SIG_IGN: usize = 1;
    unsafe extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    // SAFETY: signal(2) from the C library std links; SIG_IGN installs no
    // handler, so no code of ours runs in signal context.
    unsafe { signal(SIGINT, SIG_IGN) };
}

/// Copies a pipe to this process's stdout as it arrives, on its own
/// thread, and returns everything it copied.
fn tee(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        let mut stdout = std::io::stdout();
        while let Ok(count) = pipe.read(&mut chunk) {
            if count == 0 {
                break;
            }
            let _ = stdout.write_all(&chunk[..count]);
            let _ = stdout.flush();
            bytes.extend_from_slice(&chunk[..count]);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn spawn(mut command: Command, qemu: &Path) -> Result<Child, String> {
    command
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", qemu.display()))
}

/// Reads a pipe to its end on its own thread, so neither pipe can fill up and
/// block QEMU.
fn collect(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Like [`collect`] at `pace`, setting `seen` to the time the text first
/// contained `pattern`.
fn collect_watching(
    mut pipe: impl Read + Send + 'static,
    watches: [Watch; 2],
    pace: ReadPace,
) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        let (size, delay, pause_every, pause) = ReadPace::SLOW;
        let mut reads = 0usize;
        while let Ok(count) = pipe.read(&mut chunk[..size]) {
            if count == 0 {
                break;
            }
            bytes.extend_from_slice(&chunk[..count]);
            if pace == ReadPace::Slow {
                reads += 1;
                thread::sleep(if reads.is_multiple_of(pause_every) {
                    pause
                } else {
                    delay
                });
            }
            for watch in &watches {
                watch.look(&bytes);
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A text awaited in QEMU's output, and when it first appeared.
#[derive(Clone)]
struct Watch {
    pattern: Option<String>,
    seen: Arc<OnceLock<Instant>>,
}

impl Watch {
    fn new(pattern: Option<&str>) -> Self {
        Self {
            pattern: pattern.map(str::to_string),
            seen: Arc::new(OnceLock::new()),
        }
    }

    /// Notes whether `output` so far holds the text.
    fn look(&self, output: &[u8]) {
        if let Some(pattern) = &self.pattern
            && self.seen.get().is_none()
            && String::from_utf8_lossy(output).contains(pattern.as_str())
        {
            let _ = self.seen.set(Instant::now());
        }
    }

    /// Whether the text is awaited and has not appeared yet.
    fn waiting(&self) -> bool {
        self.pattern.is_some() && self.seen.get().is_none()
    }
}

/// Waits for QEMU like [`wait`], but kills it `delay` after `seen` is set.
fn wait_or_kill(
    child: &mut Child,
    timeout: Duration,
    seen: &OnceLock<Instant>,
    delay: Duration,
) -> Result<Ending, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if seen.get().is_some_and(|at| at.elapsed() >= delay) {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Ending::Killed);
        }
        match child.try_wait() {
            Ok(Some(status)) => return Ok(Ending::Exited(status)),
            Ok(None) => {}
            Err(error) => return Err(format!("cannot wait for qemu: {error}")),
        }
        if Instant::now() >= deadline {
            stop(child);
            return Ok(Ending::TimedOut(timeout));
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Waits for QEMU, killing it when `timeout` expires.
fn wait(child: &mut Child, timeout: Option<Duration>) -> Result<Ending, String> {
    let deadline = timeout.map(|timeout| (Instant::now() + timeout, timeout));
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(Ending::Exited(status)),
            Ok(None) => {}
            Err(error) => return Err(format!("cannot wait for qemu: {error}")),
        }
        if let Some((deadline, timeout)) = deadline
            && Instant::now() >= deadline
        {
            stop(child);
            return Ok(Ending::TimedOut(timeout));
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Asks QEMU to terminate (so it can restore the terminal it put in raw
/// mode), then kills it if it has not exited within [`GRACE`].
fn stop(child: &mut Child) {
    let asked = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if asked.is_ok_and(|status| status.success()) {
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Mutex;

    /// Serialises the tests: executing a script another thread has just
    /// written can fail with ETXTBSY while a concurrent fork holds its fd.
    static SPAWNING: Mutex<()> = Mutex::new(());

    /// A `Boot` whose "QEMU" is a shell script with `body`.
    fn fake_boot(name: &str, body: &str) -> Boot {
        let dir =
            std::env::temp_dir().join(format!("xtask-qemu-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("qemu");
        std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (hypervisor, bundle) = (dir.join("hv"), dir.join("bundle"));
        Boot {
            qemu: script,
            hypervisor,
            bundle,
            cmdline: vec!["a=1".into(), "b".into()],
            accel: Accel::Tcg,
            disk: None,
            memory: DEFAULT_MACHINE_MEMORY,
            icount: None,
            debugcon: None,
            debug: None,
        }
    }

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("-m"), "-m");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        let boot = fake_boot("quote", "");
        let line = boot.shell_command();
        assert!(line.contains(" -append 'a=1 b' "), "{line}");
        assert!(line.contains(" -m 512M "), "{line}");
    }

    #[test]
    fn gives_the_debugger_its_port() {
        let mut boot = fake_boot("debug", "");
        boot.debug = Some(DebugLink::Domain { port: 4321 });
        let line = boot.shell_command();
        assert!(
            line.contains(" -serial stdio ")
                && line.ends_with(" -serial tcp:127.0.0.1:4321,server=on,wait=off"),
            "{line}"
        );
        boot.debug = Some(DebugLink::Hypervisor { port: 4321 });
        let line = boot.shell_command();
        assert!(line.ends_with(" -gdb tcp:127.0.0.1:4321 -S"), "{line}");
        assert_ne!(free_port().unwrap(), 0);
    }

    #[test]
    fn captures_output_and_status() {
        let _guard = SPAWNING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let boot = fake_boot("status", "echo \"serial $*\"; echo oops >&2; exit 33");
        let captured = boot.run_captured(Duration::from_secs(10)).unwrap();
        let Ending::Exited(status) = captured.ending else {
            panic!("timed out")
        };
        assert_eq!(status.code(), Some(33));
        assert!(
            captured.serial.contains("-append a=1 b "),
            "{}",
            captured.serial
        );
        assert!(
            captured.serial.contains("-accel tcg"),
            "{}",
            captured.serial
        );
        assert_eq!(captured.stderr, "oops\n");
    }

    #[test]
    fn icount_mode_counts_instructions() {
        let _guard = SPAWNING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut boot = fake_boot("icount", "echo \"$*\"");
        boot.accel = Accel::TcgIcount;
        let captured = boot.run_captured(Duration::from_secs(10)).unwrap();
        assert!(
            captured
                .serial
                .contains("-accel tcg -icount shift=0,sleep=off"),
            "{}",
            captured.serial
        );
        assert_eq!(Accel::TcgIcount.label(), "tcg-icount");
    }

    #[test]
    fn counts_instructions_only_under_tcg() {
        let _guard = SPAWNING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut boot = fake_boot("instructions", "echo \"$*\"");
        boot.icount = Some(3);
        let captured = boot.run_captured(Duration::from_secs(10)).unwrap();
        assert!(
            captured.serial.contains("-icount shift=3,sleep=off"),
            "{}",
            captured.serial
        );
        boot.accel = Accel::Kvm;
        let captured = boot.run_captured(Duration::from_secs(10)).unwrap();
        assert!(!captured.serial.contains("-icount "), "{}", captured.serial);
    }

    #[test]
    fn kills_on_timeout() {
        let _guard = SPAWNING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let boot = fake_boot("timeout", "echo started; exec sleep 30");
        let started = Instant::now();
        let captured = boot.run_captured(Duration::from_millis(300)).unwrap();
        assert!(matches!(captured.ending, Ending::TimedOut(_)));
        assert_eq!(captured.serial, "started\n");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn kills_when_terminate_is_ignored() {
        let _guard = SPAWNING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let boot = fake_boot(
            "stubborn",
            "trap '' TERM; echo started; while :; do sleep 1; done",
        );
        let captured = boot.run_captured(Duration::from_millis(300)).unwrap();
        assert!(matches!(captured.ending, Ending::TimedOut(_)));
    }
}
