//! The shared-information page: state the hypervisor and a domain read and
//! write without hypercalls.
//!
//! A domain registers one page of its own memory with
//! `register_shared_info(gpa)`; from then on the hypervisor keeps it
//! current. The domain masks and unmasks its virtual interrupts by writing
//! [`VcpuInfo::upcall_mask`], reads event bits, and reads virtual time with
//! [`TimeInfo::now_ns`], all without leaving ring 3.
//!
//! ```text
//! offset   0  VcpuInfo      upcall_pending, upcall_mask
//! offset  64  TimeInfo      version, system_time_ns, tsc_timestamp, tsc_to_ns_mul, tsc_hz
//! offset 128  pending       u64: bit n = event pending on port n
//! offset 136  mask          u64: bit n = port n masked
//! ```

use core::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

/// Ports a domain may have (bits of [`SharedInfo::pending`]).
pub const MAX_PORTS: u32 = 64;

/// Per-vCPU virtual interrupt state.
#[repr(C)]
pub struct VcpuInfo {
    /// OUT (set by the hypervisor, cleared by the guest): some unmasked
    /// port has an event pending.
    pub upcall_pending: AtomicU8,
    /// IN (written by the guest; set by the hypervisor on upcall or
    /// exception entry, restored by `iret`): 1 = virtual interrupts off.
    pub upcall_mask: AtomicU8,
    _reserved: [u8; 62],
}

/// Virtual time: nanoseconds since the domain started.
#[repr(C)]
pub struct TimeInfo {
    /// OUT: odd while the hypervisor updates the fields below; readers
    /// retry until they see the same even value before and after.
    pub version: AtomicU32,
    _pad: u32,
    /// OUT: virtual time at `tsc_timestamp`.
    pub system_time_ns: AtomicU64,
    /// OUT: the TSC value at which `system_time_ns` was taken.
    pub tsc_timestamp: AtomicU64,
    /// OUT: nanoseconds per TSC tick, as a 32.32 fixed-point number.
    pub tsc_to_ns_mul: AtomicU64,
    /// OUT: the calibrated TSC frequency in Hz.
    pub tsc_hz: AtomicU64,
    /// OUT: TSC ticks the CPU spent halted, every domain blocked, since
    /// the page was registered (added when the CPU wakes). Under
    /// `-icount ... sleep=off` such a wait warps the TSC to the next timer
    /// deadline, so a measurement of instructions subtracts it.
    pub idle_tsc: AtomicU64,
    _reserved: [u64; 2],
}

/// The whole page (the first 144 bytes are used).
#[repr(C)]
pub struct SharedInfo {
    /// Virtual interrupt state of the domain's vCPU.
    pub vcpu: VcpuInfo,
    /// Virtual time.
    pub time: TimeInfo,
    /// OUT (set by the hypervisor, cleared by the guest): pending ports.
    pub pending: AtomicU64,
    /// IN (written by the guest): masked ports.
    pub mask: AtomicU64,
}

const _: () = {
    assert!(core::mem::size_of::<VcpuInfo>() == 64);
    assert!(core::mem::size_of::<TimeInfo>() == 64);
    assert!(core::mem::offset_of!(SharedInfo, vcpu) == 0);
    assert!(core::mem::offset_of!(VcpuInfo, upcall_pending) == 0);
    assert!(core::mem::offset_of!(VcpuInfo, upcall_mask) == 1);
    assert!(core::mem::offset_of!(SharedInfo, time) == 64);
    assert!(core::mem::offset_of!(TimeInfo, version) == 0);
    assert!(core::mem::offset_of!(TimeInfo, system_time_ns) == 8);
    assert!(core::mem::offset_of!(TimeInfo, tsc_timestamp) == 16);
    assert!(core::mem::offset_of!(TimeInfo, tsc_to_ns_mul) == 24);
    assert!(core::mem::offset_of!(TimeInfo, tsc_hz) == 32);
    assert!(core::mem::offset_of!(TimeInfo, idle_tsc) == 40);
    assert!(core::mem::offset_of!(SharedInfo, pending) == 128);
    assert!(core::mem::offset_of!(SharedInfo, mask) == 136);
    assert!(core::mem::size_of::<SharedInfo>() <= 4096);
};

/// Converts a TSC delta with a 32.32 multiplier.
pub fn ticks_to_ns(ticks: u64, mul: u64) -> u64 {
    ((ticks as u128 * mul as u128) >> 32) as u64
}

/// The 32.32 multiplier for a TSC running at `hz`.
pub fn ns_multiplier(hz: u64) -> u64 {
    ((1_000_000_000u128 << 32) / hz.max(1) as u128) as u64
}

impl TimeInfo {
    /// Virtual time now, given the current TSC; retries torn reads.
    pub fn now_ns(&self, tsc: impl Fn() -> u64) -> u64 {
        loop {
            let before = self.version.load(Ordering::Acquire);
            if before % 2 == 1 {
                core::hint::spin_loop();
                continue;
            }
            let base = self.system_time_ns.load(Ordering::Relaxed);
            let stamp = self.tsc_timestamp.load(Ordering::Relaxed);
            let mul = self.tsc_to_ns_mul.load(Ordering::Relaxed);
            let now = tsc();
            if self.version.load(Ordering::Acquire) == before {
                return base + ticks_to_ns(now.saturating_sub(stamp), mul);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_time_conversion() {
        let mul = ns_multiplier(2_000_000_000);
        assert!((999_999_999..=1_000_000_000).contains(&ticks_to_ns(2_000_000_000, mul)));
        assert_eq!(ticks_to_ns(0, mul), 0);
        let mul = ns_multiplier(1_000_000);
        assert_eq!(ticks_to_ns(3, mul), 3000);
    }
}
