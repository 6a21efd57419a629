//! The fuzzer's summary: how often each number was called and what it
//! answered.

use core::fmt::Write;

use shared_abi::{Hypercall, Status};

use crate::println;

/// Columns: non-negative results, then each error status in
/// [`Status::ALL`] order (after `OK`).
const COLUMNS: usize = Status::ALL.len();
/// Rows: each defined number, then every unknown one together.
const ROWS: usize = Hypercall::ALL.len() + 1;

/// Counts of results by number and status.
#[derive(Clone, Debug)]
pub struct Tally {
    counts: [[u64; COLUMNS]; ROWS],
    skipped: [u64; ROWS],
}

impl Default for Tally {
    fn default() -> Self {
        Self::new()
    }
}

fn row(number: u64) -> usize {
    Hypercall::from_number(number).map_or(ROWS - 1, |call| call as usize)
}

fn column(raw: i64) -> Option<usize> {
    if raw >= 0 {
        return Some(0);
    }
    Status::ALL.iter().position(|status| *status as i64 == raw)
}

impl Tally {
    /// Nothing counted yet.
    pub const fn new() -> Self {
        Self {
            counts: [[0; COLUMNS]; ROWS],
            skipped: [0; ROWS],
        }
    }

    /// Counts call `number` answering `raw` (a documented result).
    pub fn record(&mut self, number: u64, raw: i64) {
        if let Some(column) = column(raw) {
            self.counts[row(number)][column] += 1;
        }
    }

    /// Counts a call that was drawn but not issued.
    pub fn skip(&mut self, number: u64) {
        self.skipped[row(number)] += 1;
    }

    /// Calls issued.
    pub fn issued(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Prints one line per number, then the totals per status.
    pub fn print(&self) {
        for (index, counts) in self.counts.iter().enumerate() {
            let name = Hypercall::ALL
                .get(index)
                .map_or("unknown numbers", |c| c.name());
            let calls: u64 = counts.iter().sum();
            let mut line = shared_abi::guest::print::Console::new();
            let _ = match index < Hypercall::ALL.len() {
                true => write!(line, "{index:>3} {name:<22} {calls:>8} calls"),
                false => write!(line, "  - {name:<22} {calls:>8} calls"),
            };
            let mut first = true;
            for (column, &count) in counts.iter().enumerate() {
                if count == 0 {
                    continue;
                }
                let label = if column == 0 {
                    "value"
                } else {
                    Status::ALL[column].name()
                };
                let _ = write!(line, "{} {label} {count}", if first { ":" } else { "," });
                first = false;
            }
            if index == Hypercall::Shutdown as usize {
                let _ = write!(line, " (it ends the domain: issued once, as the last call)");
            }
            if self.skipped[index] > 0 {
                let _ = write!(line, " ({} drawn, not issued)", self.skipped[index]);
            }
            let _ = writeln!(line);
            line.flush();
        }
        let mut line = shared_abi::guest::print::Console::new();
        let _ = write!(line, "statuses seen:");
        for column in 0..COLUMNS {
            let count: u64 = self.counts.iter().map(|counts| counts[column]).sum();
            if count > 0 {
                let label = if column == 0 {
                    "value"
                } else {
                    Status::ALL[column].name()
                };
                let _ = write!(line, " {label} {count}");
            }
        }
        let _ = writeln!(line);
        line.flush();
        println!("{} calls issued", self.issued());
    }
}
