//! Why a debugged domain stopped, and how gdb is told: the stop reply for
//! each cause, and the signal that stands for each exception vector.

use gdbstub::common::Signal;
use gdbstub::stub::SingleThreadStopReason;

/// Why the debugged domain stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// It ran into one of gdb's breakpoints.
    Breakpoint,
    /// It executed the one instruction gdb asked for.
    Step,
    /// gdb interrupted it (Ctrl-C).
    Interrupted,
    /// It raised exception `vector`, which would have ended it.
    Fault {
        /// The exception vector.
        vector: u8,
    },
    /// It shut down with this code.
    Exited(u64),
    /// The hypervisor stopped it (after an exception `vector`, if known).
    Killed(Option<u8>),
}

impl Stop {
    /// The stop reply gdb gets.
    pub fn reason(self) -> SingleThreadStopReason<u64> {
        match self {
            Stop::Breakpoint => SingleThreadStopReason::SwBreak(()),
            Stop::Step => SingleThreadStopReason::DoneStep,
            Stop::Interrupted => SingleThreadStopReason::Signal(Signal::SIGINT),
            Stop::Fault { vector } => SingleThreadStopReason::Signal(signal(vector)),
            // gdb shows an exit status of 8 bits.
            Stop::Exited(code) => SingleThreadStopReason::Exited(code.min(255) as u8),
            Stop::Killed(vector) => {
                SingleThreadStopReason::Terminated(vector.map_or(Signal::SIGKILL, signal))
            }
        }
    }
}

/// The signal a Unix kernel raises for exception `vector`.
pub fn signal(vector: u8) -> Signal {
    match vector {
        0 | 16 | 19 => Signal::SIGFPE,
        1 | 3 => Signal::SIGTRAP,
        6 => Signal::SIGILL,
        17 => Signal::SIGBUS,
        _ => Signal::SIGSEGV,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_map_to_unix_signals() {
        assert_eq!(signal(0), Signal::SIGFPE);
        assert_eq!(signal(3), Signal::SIGTRAP);
        assert_eq!(signal(6), Signal::SIGILL);
        assert_eq!(signal(13), Signal::SIGSEGV);
        assert_eq!(signal(14), Signal::SIGSEGV);
        assert_eq!(
            Stop::Fault { vector: 14 }.reason(),
            SingleThreadStopReason::Signal(Signal::SIGSEGV)
        );
        assert_eq!(
            Stop::Exited(300).reason(),
            SingleThreadStopReason::Exited(255)
        );
        assert_eq!(
            Stop::Killed(None).reason(),
            SingleThreadStopReason::Terminated(Signal::SIGKILL)
        );
    }
}
