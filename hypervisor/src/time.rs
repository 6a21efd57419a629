//! Time: the calibrated TSC as the hypervisor's clock, conversions to
//! nanoseconds, and the one-shot timer deadline the scheduler asks for.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::x86_64::{apic, cpu, percpu};

static TSC_HZ: AtomicU64 = AtomicU64::new(1_000_000_000);
/// APIC timer ticks per TSC tick, as a 32.32 fixed-point number (so that
/// arming the timer needs a multiplication, not a division).
static TIMER_PER_TSC: AtomicU64 = AtomicU64::new(1 << 22);

/// Calibrates the clocks; call once at boot, after `apic::init`.
pub fn init() {
    let calibration = apic::calibrate();
    TSC_HZ.store(calibration.tsc_hz, Ordering::Relaxed);
    let per_tsc = ((calibration.timer_hz as u128) << 32) / calibration.tsc_hz as u128;
    TIMER_PER_TSC.store(per_tsc.min(u64::MAX as u128) as u64, Ordering::Relaxed);
    log::info!(
        "clock: TSC {} MHz, APIC timer {} kHz (calibrated against the PIT)",
        calibration.tsc_hz / 1_000_000,
        calibration.timer_hz / 1000
    );
}

/// The TSC frequency.
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// The current TSC.
pub fn now() -> u64 {
    cpu::rdtsc()
}

/// Nanoseconds to TSC ticks, saturating (a deadline centuries away stays
/// far away rather than wrapping round to now).
pub fn ns_to_tsc(ns: u64) -> u64 {
    let hz = tsc_hz();
    // The common case (a slice, a near deadline) needs no 128-bit division.
    if let Some(product) = ns.checked_mul(hz) {
        return product / 1_000_000_000;
    }
    let ticks = (ns as u128 * hz as u128) / 1_000_000_000;
    ticks.min(u64::MAX as u128) as u64
}

/// TSC ticks to milliseconds.
pub fn tsc_to_ms(ticks: u64) -> u64 {
    (ticks as u128 * 1000 / tsc_hz().max(1) as u128) as u64
}

/// Arms the hardware timer to fire at TSC value `deadline` (at once if it
/// has passed). Re-arming for the deadline already armed and still ahead
/// is skipped: it would cost an APIC write (a VM exit under KVM) per
/// hypercall.
pub fn arm_at(deadline: u64) {
    let now = now();
    let cpu = percpu::this();
    if cpu.armed_deadline() == deadline && deadline > now {
        return;
    }
    cpu.set_armed_deadline(deadline);
    let ticks = deadline.saturating_sub(now);
    let per_tsc = TIMER_PER_TSC.load(Ordering::Relaxed) as u128;
    let timer_ticks = ((ticks as u128 * per_tsc) >> 32).min(u64::MAX as u128) as u64;
    apic::arm(timer_ticks);
}
