//! Scheduling policy: round robin over runnable domains.
//!
//! Pure logic: given who is runnable and who ran last, pick who runs next.
//! When that happens is the dispatcher's: a domain runs until it yields,
//! blocks, ends or its time slice is over (`dispatch::TIME_SLICE_NS`).

/// The index after `current` (wrapping, `current` itself last) for which
/// `runnable` holds, or `None` if no domain is runnable.
pub fn next_runnable(
    count: usize,
    current: usize,
    runnable: impl Fn(usize) -> bool,
) -> Option<usize> {
    (1..=count)
        .map(|step| (current + step) % count)
        .find(|&index| runnable(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_and_skips_finished_domains() {
        let runnable = [true, false, true, true];
        let pick = |current| next_runnable(4, current, |i| runnable[i]);
        assert_eq!(pick(0), Some(2));
        assert_eq!(pick(2), Some(3));
        assert_eq!(pick(3), Some(0));
    }

    #[test]
    fn the_only_runnable_domain_runs_again_and_none_means_idle() {
        assert_eq!(next_runnable(3, 1, |i| i == 1), Some(1));
        assert_eq!(next_runnable(3, 1, |_| false), None);
        assert_eq!(next_runnable(0, 0, |_| true), None);
    }
}
