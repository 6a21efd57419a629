//! Measuring code paths from a guest, for the bench guests: the TSC (one
//! tick per instruction under `cargo xtask bench --icount`), a timed
//! closure, and the `bench METRIC MEDIAN SAMPLES` line xtask reads.

use alloc::vec::Vec;

/// Sequential 64 KiB requests the pipelined block reads keep in flight,
/// directly in the driver domain and through the backend (three of 64 KiB
/// hold 48 grants, the ring one more, of the 64 a frontend may have).
pub const PIPELINED: usize = 3;

/// The time-stamp counter.
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc is allowed in ring 3 and only reads the counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// TSC ticks `f` took.
#[inline(always)]
pub fn timed(f: impl FnOnce()) -> u64 {
    let start = rdtsc();
    f();
    rdtsc().wrapping_sub(start)
}

/// Prints `bench METRIC MEDIAN SAMPLES` for `samples` (not empty).
pub fn report(metric: &str, mut samples: Vec<u64>) {
    samples.sort_unstable();
    let median = samples[samples.len() / 2];
    crate::println!("bench {metric} {median} {}", samples.len());
}

/// TSC ticks `f` took, less those the CPU spent halted meanwhile with
/// every domain blocked (`time.idle_tsc` of the shared-information page):
/// under icount, where such a wait warps the TSC to the next timer
/// deadline, the instructions of every domain and of the hypervisor.
#[inline(always)]
pub fn timed_busy(f: impl FnOnce()) -> u64 {
    let idle = || {
        crate::interrupts::shared()
            .time
            .idle_tsc
            .load(core::sync::atomic::Ordering::SeqCst)
    };
    let (start, idle_before) = (rdtsc(), idle());
    f();
    let end = rdtsc();
    end.wrapping_sub(start)
        .saturating_sub(idle().wrapping_sub(idle_before))
}
