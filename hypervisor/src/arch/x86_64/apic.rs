//! The local APIC timer: the hypervisor's only source of time-driven
//! interrupts, calibrated against the PIT at boot.
//!
//! The timer runs one-shot: before resuming a guest the hypervisor arms it
//! for the earliest of the end of the guest's time slice and the next
//! domain timer deadline. Its interrupt preempts guests whatever their
//! virtual interrupt flag (ring 3 always runs with IF set).

use x86_64::instructions::port::Port;
use x86_64::registers::model_specific::Msr;

use crate::mm::address::MachineAddr;
use crate::mm::direct_map::machine_ptr;

/// Vector of the APIC timer interrupt.
pub const TIMER_VECTOR: u8 = 0x40;
/// Vector of the COM1 receive interrupt.
pub const SERIAL_VECTOR: u8 = 0x41;
/// Vector of the interrupt of the disk assigned to the driver domain.
pub const DISK_VECTOR: u8 = 0x42;
/// Vector of the spurious interrupt.
pub const SPURIOUS_VECTOR: u8 = 0xff;

const APIC_BASE_MSR: u32 = 0x1b;
const APIC_ENABLE: u64 = 1 << 11;
const APIC_PHYS: u64 = 0xfee0_0000;
const REG_EOI: u64 = 0xb0;
const REG_SPURIOUS: u64 = 0xf0;
const REG_TPR: u64 = 0x80;
const REG_LVT_TIMER: u64 = 0x320;
const REG_INITIAL_COUNT: u64 = 0x380;
const REG_CURRENT_COUNT: u64 = 0x390;
const REG_DIVIDE: u64 = 0x3e0;
const LVT_MASKED: u32 = 1 << 16;
/// Divide the timer clock by 16.
const DIVIDE_BY_16: u32 = 0b0011;

/// PIT input clock.
const PIT_HZ: u64 = 1_193_182;
/// Calibration window.
const CALIBRATION_MS: u64 = 20;

fn register(offset: u64) -> *mut u32 {
    machine_ptr(MachineAddr(APIC_PHYS + offset)).cast()
}

fn read(offset: u64) -> u32 {
    // SAFETY: the APIC's registers are at APIC_PHYS, inside the direct map;
    // they are 32-bit and 16-byte aligned.
    unsafe { register(offset).read_volatile() }
}

fn write(offset: u64, value: u32) {
    // SAFETY: as for read.
    unsafe { register(offset).write_volatile(value) }
}

/// What calibration found.
#[derive(Clone, Copy, Debug)]
pub struct Calibration {
    /// TSC ticks per second.
    pub tsc_hz: u64,
    /// APIC timer ticks (after the divider) per second.
    pub timer_hz: u64,
}

/// Enables the local APIC with the timer masked.
pub fn init() {
    // SAFETY: setting the enable bit of IA32_APIC_BASE keeps the default
    // base address, which the direct map covers.
    unsafe {
        let mut base = Msr::new(APIC_BASE_MSR);
        let value = base.read();
        base.write(value | APIC_ENABLE);
    }
    write(REG_TPR, 0);
    write(REG_SPURIOUS, 0x100 | SPURIOUS_VECTOR as u32);
    write(REG_DIVIDE, DIVIDE_BY_16);
    write(REG_LVT_TIMER, LVT_MASKED | TIMER_VECTOR as u32);
}

/// Measures the TSC and the APIC timer against PIT channel 2.
pub fn calibrate() -> Calibration {
    let mut gate = Port::<u8>::new(0x61);
    let mut command = Port::<u8>::new(0x43);
    let mut channel2 = Port::<u8>::new(0x42);
    let count = PIT_HZ * CALIBRATION_MS / 1000;
    // SAFETY: the standard PIT channel 2 one-shot sequence on ports
    // 0x61/0x43/0x42, with the speaker output kept off; nothing else uses
    // channel 2.
    let (tsc_ticks, timer_ticks) = unsafe {
        let value = gate.read();
        gate.write((value & !0x03) | 0x01);
        command.write(0b1011_0000);
        channel2.write((count & 0xff) as u8);
        channel2.write((count >> 8) as u8);
        write(REG_INITIAL_COUNT, u32::MAX);
        let value = gate.read();
        gate.write(value & !0x01);
        gate.write(value | 0x01);
        let tsc_start = super::cpu::rdtsc();
        let timer_start = read(REG_CURRENT_COUNT);
        while gate.read() & 0x20 == 0 {
            core::hint::spin_loop();
        }
        let tsc_end = super::cpu::rdtsc();
        let timer_end = read(REG_CURRENT_COUNT);
        write(REG_INITIAL_COUNT, 0);
        (tsc_end - tsc_start, (timer_start - timer_end) as u64)
    };
    Calibration {
        tsc_hz: (tsc_ticks * 1000 / CALIBRATION_MS).max(1),
        timer_hz: (timer_ticks * 1000 / CALIBRATION_MS).max(1),
    }
}

/// Fires the timer interrupt once, after `ticks` timer ticks (at least 1).
pub fn arm(ticks: u64) {
    write(REG_LVT_TIMER, TIMER_VECTOR as u32);
    write(REG_INITIAL_COUNT, ticks.clamp(1, u32::MAX as u64) as u32);
}

/// Signals the end of the interrupt being handled.
pub fn end_of_interrupt() {
    write(REG_EOI, 0);
}
