//! A domain's own measure of its share of the CPU: it spins reading
//! virtual time, and every jump of more than a threshold between two
//! readings is time it was not running (another domain ran, or the
//! hypervisor worked for one). Shares are kept per window of virtual time.

/// Run time per window of virtual time.
#[derive(Clone, Debug)]
pub struct ShareMeter {
    window_ns: u64,
    gap_ns: u64,
    start: u64,
    window_start: u64,
    ran_in_window: u64,
    last: u64,
    windows: u64,
    min_permille: Option<u64>,
    ran: u64,
    longest_gap: u64,
    gap_in_window: u64,
    closed: Option<Window>,
}

/// A full window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Its start (ns since the meter started).
    pub start: u64,
    /// The share run in it, in thousandths.
    pub permille: u64,
    /// The longest time without running that ended in it (ns).
    pub longest_gap: u64,
}

impl ShareMeter {
    /// Starts measuring at `now` (ns): windows of `window_ns`, and a jump
    /// of more than `gap_ns` between two readings counts as descheduled.
    pub fn new(now: u64, window_ns: u64, gap_ns: u64) -> Self {
        Self {
            window_ns: window_ns.max(1),
            gap_ns,
            start: now,
            window_start: now,
            ran_in_window: 0,
            last: now,
            windows: 0,
            min_permille: None,
            ran: 0,
            longest_gap: 0,
            gap_in_window: 0,
            closed: None,
        }
    }

    /// Accounts for the time since the previous reading.
    pub fn observe(&mut self, now: u64) {
        let now = now.max(self.last);
        let gap = now - self.last;
        let ran = gap <= self.gap_ns;
        if ran {
            self.ran += gap;
        } else {
            self.longest_gap = self.longest_gap.max(gap);
            self.gap_in_window = self.gap_in_window.max(gap);
        }
        let mut from = self.last;
        while now >= self.window_start + self.window_ns {
            let end = self.window_start + self.window_ns;
            if ran {
                self.ran_in_window += end - from;
            }
            let permille = self.ran_in_window * 1000 / self.window_ns;
            self.min_permille = Some(self.min_permille.map_or(permille, |min| min.min(permille)));
            self.windows += 1;
            self.closed = Some(Window {
                start: self.window_start - self.start,
                permille,
                longest_gap: self.gap_in_window,
            });
            self.window_start = end;
            self.ran_in_window = 0;
            self.gap_in_window = 0;
            from = end;
        }
        if ran {
            self.ran_in_window += now - from;
        }
        self.last = now;
    }

    /// The last window that closed, once (the next call returns `None`
    /// until another closes).
    pub fn take_closed(&mut self) -> Option<Window> {
        self.closed.take()
    }

    /// Full windows so far.
    pub fn windows(&self) -> u64 {
        self.windows
    }

    /// The smallest share of a full window, in thousandths.
    pub fn min_permille(&self) -> Option<u64> {
        self.min_permille
    }

    /// Time run and time measured since the start, in ns.
    pub fn totals(&self) -> (u64, u64) {
        (self.ran, self.last - self.start)
    }

    /// The longest time without running, in ns.
    pub fn longest_gap(&self) -> u64 {
        self.longest_gap
    }
}
