//! Booting the hypervisor under QEMU.
//!
//! A [`Boot`] describes one QEMU run (hypervisor ELF, bundle, command line,
//! accelerator). [`Boot::run_attached`] gives QEMU the terminal (for
//! `cargo xtask run`); [`Boot::run_captured`] collects its output for a test.
//! Both kill QEMU when the timeout, if any, expires.

use std::fs::OpenOptions;
use std::io::Read;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The QEMU binary this project boots with.
pub const QEMU: &str = "qemu-system-x86_64";
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

    /// The value of QEMU's `-accel` option.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
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
    /// Under TCG: virtual time counts instructions, `2^shift` ns each
    /// (`-icount`), so that it does not depend on what else the host runs.
    pub icount: Option<u8>,
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
        command.args([
            "-m", "512M", "-display", "none", "-monitor", "none", "-serial", "stdio",
        ]);
        command.args([
            "-no-reboot",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
        ]);
        command.args(["-accel", self.accel.name()]);
        if let (Some(shift), Accel::Tcg) = (self.icount, self.accel) {
            command
                .arg("-icount")
                .arg(format!("shift={shift},sleep=off"));
        }
        if let Some(disk) = &self.disk {
            command.arg("-drive").arg(format!(
                "file={},format=raw,if=none,id=disk0",
                disk.display()
            ));
            command.args(["-device", "virtio-blk-pci,drive=disk0"]);
        }
        command
    }

    /// Runs QEMU with the serial console on this process's stdout. A
    /// terminal on stdin is handed to QEMU as it is (interactive use); any
    /// other stdin (a pipe, a file, /dev/null) is copied to the console and
    /// followed by [`END_OF_INPUT`], so the guests see its end.
    pub fn run_attached(&self, timeout: Option<Duration>) -> Result<Ending, String> {
        let mut command = self.command();
        if std::io::stdin().is_terminal() {
            let mut child = spawn(command, &self.qemu)?;
            return wait(&mut child, timeout);
        }
        command.stdin(Stdio::piped());
        let mut child = spawn(command, &self.qemu)?;
        if let Some(mut pipe) = child.stdin.take() {
            thread::spawn(move || {
                let _ = std::io::copy(&mut std::io::stdin().lock(), &mut pipe);
                let _ = pipe.write_all(END_OF_INPUT);
                // Keep the pipe open: QEMU treats a closed stdin as a hang-up.
                thread::sleep(Duration::from_secs(u64::MAX / 4));
            });
        }
        wait(&mut child, timeout)
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
        self.run_captured_until(timeout, input, None)
    }

    /// Like [`Boot::run_captured_with_input`], but QEMU is killed outright
    /// (SIGKILL, as a power cut would) as soon as its output contains
    /// `kill_on`.
    pub fn run_captured_until(
        &self,
        timeout: Duration,
        input: &[u8],
        kill_on: Option<&str>,
    ) -> Result<Captured, String> {
        let mut command = self.command();
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn(command, &self.qemu)?;
        if let Some(mut pipe) = child.stdin.take() {
            let input = input.to_vec();
            thread::spawn(move || {
                let _ = pipe.write_all(&input);
                // Held open until QEMU exits (the write end then fails).
                thread::sleep(Duration::from_secs(u64::MAX / 4));
            });
        }
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stdout = child
            .stdout
            .take()
            .map(|pipe| collect_watching(pipe, kill_on.map(str::to_string), seen.clone()));
        let stderr = child.stderr.take().map(collect);
        let ending = wait_or_kill(&mut child, timeout, &seen);
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

/// Like [`collect`], setting `seen` once the text contains `pattern`.
fn collect_watching(
    mut pipe: impl Read + Send + 'static,
    pattern: Option<String>,
    seen: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(count) = pipe.read(&mut chunk) {
            if count == 0 {
                break;
            }
            bytes.extend_from_slice(&chunk[..count]);
            if let Some(pattern) = &pattern
                && String::from_utf8_lossy(&bytes).contains(pattern.as_str())
            {
                seen.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for QEMU like [`wait`], but kills it at once when `seen` is set.
fn wait_or_kill(
    child: &mut Child,
    timeout: Duration,
    seen: &std::sync::atomic::AtomicBool,
) -> Result<Ending, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if seen.load(std::sync::atomic::Ordering::SeqCst) {
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
        thread::sleep(Duration::from_millis(5));
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
            icount: None,
        }
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
