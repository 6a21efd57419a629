//! Scheduling policy: round robin over runnable domains.
//!
//! Pure logic: given who is runnable and who ran last, pick who runs next.
//! When that happens is the dispatcher's: a domain runs until it yields,
//! blocks, ends or its time slice is over (`dispatch::TIME_SLICE_NS`).

/// What a domain does with its turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    /// It cannot run (blocked, ended, held).
    NotRunnable,
    /// It could run but sits this turn out (it ran past its slices and
    /// pays one back).
    SitsOut,
    /// It runs.
    Runs,
}

/// The first index after `current` (wrapping, `current` itself last) whose
/// `turn` is [`Turn::Runs`], or `None` if no domain is runnable. `turn` is
/// asked of each domain in that order until one runs; if every runnable
/// domain sits out, the first of them runs all the same (the CPU is never
/// idle while a domain is runnable).
pub fn next_runnable(
    count: usize,
    current: usize,
    mut turn: impl FnMut(usize) -> Turn,
) -> Option<usize> {
    let mut first = None;
    for index in (1..=count).map(|step| (current + step) % count) {
        match turn(index) {
            Turn::NotRunnable => {}
            Turn::SitsOut => {
                first.get_or_insert(index);
            }
            Turn::Runs => return Some(index),
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(runnable: bool) -> Turn {
        match runnable {
            true => Turn::Runs,
            false => Turn::NotRunnable,
        }
    }

    #[test]
    fn rotates_and_skips_finished_domains() {
        let runnable = [true, false, true, true];
        let pick = |current| next_runnable(4, current, |i| runs(runnable[i]));
        assert_eq!(pick(0), Some(2));
        assert_eq!(pick(2), Some(3));
        assert_eq!(pick(3), Some(0));
    }

    #[test]
    fn the_only_runnable_domain_runs_again_and_none_means_idle() {
        assert_eq!(next_runnable(3, 1, |i| runs(i == 1)), Some(1));
        assert_eq!(next_runnable(3, 1, |_| Turn::NotRunnable), None);
        assert_eq!(next_runnable(0, 0, |_| Turn::Runs), None);
    }

    #[test]
    fn a_domain_in_debt_sits_out_until_it_has_paid() {
        // Domain 1 owes two slices: it is passed over twice, then runs.
        let mut debt = [0u32, 2, 0];
        let mut order = Vec::new();
        let mut current = 0;
        for _ in 0..6 {
            current = next_runnable(3, current, |i| {
                let owes = debt[i] > 0;
                debt[i] = debt[i].saturating_sub(1);
                if owes { Turn::SitsOut } else { Turn::Runs }
            })
            .unwrap();
            order.push(current);
        }
        assert_eq!(order, [2, 0, 2, 0, 1, 2]);
    }

    #[test]
    fn when_everyone_sits_out_the_first_runnable_runs() {
        let turn = |i| match i {
            1 => Turn::NotRunnable,
            _ => Turn::SitsOut,
        };
        assert_eq!(next_runnable(3, 0, turn), Some(2));
    }
}
