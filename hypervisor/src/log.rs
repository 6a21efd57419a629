//! The hypervisor's logger: one line per record, handed whole to the sink
//! given at boot (the console, which writes it to the serial port without
//! splitting another line).
//!
//! Info records read `hv: message`; other levels name themselves:
//! `hv: warning: message`, `hv: error: message`, `hv: debug: message`. The
//! level is set from the command line (`loglevel=`).

use core::fmt::{self, Write};

use spin::Once;

struct LineLogger;

static LOGGER: LineLogger = LineLogger;

/// Where whole lines go.
static SINK: Once<fn(&[u8])> = Once::new();

/// Installs the logger at `info` level, writing each line with `sink`.
pub fn init(sink: fn(&[u8])) {
    SINK.call_once(|| sink);
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}

/// Hands a whole line to the sink (none before [`init`]).
fn emit(line: &LineBuffer) {
    if let Some(sink) = SINK.get() {
        sink(line.as_bytes());
    }
}

/// Writes `hv: message` whatever the level: for the lines tools parse
/// (the end-of-run `result:` lines), which `loglevel=` must not hide.
pub fn always(args: fmt::Arguments<'_>) {
    let mut line = LineBuffer::new();
    let _ = writeln!(line, "hv: {args}");
    emit(&line);
}

/// A line assembled on the stack, cut at its capacity rather than split.
pub struct LineBuffer {
    bytes: [u8; 512],
    len: usize,
}

impl LineBuffer {
    /// An empty line.
    pub const fn new() -> Self {
        Self {
            bytes: [0; 512],
            len: 0,
        }
    }

    /// The bytes so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Default for LineBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for LineBuffer {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let room = self.bytes.len() - 1 - self.len;
        let take = text.len().min(room);
        self.bytes[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

impl log::Log for LineLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        // Libraries' own records (virtio_drivers, ...) are debugging detail.
        let ours = metadata.target().starts_with("hypervisor");
        metadata.level() <= log::max_level()
            && (ours
                || metadata.level() <= log::Level::Warn
                || log::max_level() >= log::LevelFilter::Debug)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut line = LineBuffer::new();
        let _ = match record.level() {
            log::Level::Info => write!(line, "hv: {}", record.args()),
            log::Level::Warn => write!(line, "hv: warning: {}", record.args()),
            log::Level::Error => write!(line, "hv: error: {}", record.args()),
            log::Level::Debug => write!(line, "hv: debug: {}", record.args()),
            log::Level::Trace => write!(line, "hv: trace: {}", record.args()),
        };
        let _ = line.write_str("\n");
        emit(&line);
    }

    fn flush(&self) {}
}
