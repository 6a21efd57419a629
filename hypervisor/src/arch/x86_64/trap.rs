//! The Rust side of every ring transition: decide whether an exception is
//! the hypervisor's own (fatal) or a guest's (contained), hand guest exits
//! to [`crate::dispatch`], and prepare the frame of whichever domain runs
//! next.

use core::sync::atomic::{AtomicBool, Ordering};

use shared_abi::bench::FAULT_PROBE_ADDRESS;

use super::entry::{self, TrapFrame};
use super::fatal;
use super::{apic, cpu, serial};
use crate::dispatch::{self, GuestExit};

const NMI: u64 = 2;
const DOUBLE_FAULT: u64 = 8;
const MACHINE_CHECK: u64 = 18;
const PAGE_FAULT: u64 = 14;
/// Page-fault error code of a user-mode instruction fetch from a present
/// (supervisor-only) page.
const USER_FETCH_OF_PRESENT_PAGE: u64 = 0b10101;

/// Whether a ring 3 page fault is a `syscall` that arrived at its entry
/// point without the privilege change: seen on some nested KVM platforms,
/// never on hardware or under TCG. A guest jumping to the entry point on
/// purpose gets exactly what a `syscall` would have given it.
fn is_unprivileged_syscall(frame: &TrapFrame) -> bool {
    frame.rip == entry::syscall_entry as *const () as u64
        && frame.error_code & USER_FETCH_OF_PRESENT_PAGE == USER_FETCH_OF_PRESENT_PAGE
}

/// Whether the bench fault probe is answered (`hv_bench`).
pub static BENCH_PROBE: AtomicBool = AtomicBool::new(false);

/// Stops the machine if the entry code left RFLAGS.AC set: a guest may set
/// it with `popf`, and the hypervisor must never run with SMAP overridden.
fn check_entry_flags(frame: &TrapFrame) {
    assert!(
        cpu::rflags() & cpu::RFLAGS_AC == 0,
        "entry for vector {:#x} left RFLAGS.AC set",
        frame.vector
    );
}

/// Called by the exception stubs.
pub extern "C" fn handle_exception(frame: &mut TrapFrame) {
    check_entry_flags(frame);
    match frame.vector {
        DOUBLE_FAULT | MACHINE_CHECK => fatal::exception(frame),
        NMI => {
            log::warn!("non-maskable interrupt at rip {:#x}", frame.rip);
            return;
        }
        _ if !frame.from_user() => fatal::exception(frame),
        PAGE_FAULT
            if BENCH_PROBE.load(Ordering::Relaxed) && cpu::read_cr2() == FAULT_PROBE_ADDRESS =>
        {
            // The bench's baseline: a fault on the hypervisor's own mapping,
            // answered with no work (see shared_abi::bench).
            frame.rip = frame.rcx;
            return;
        }
        PAGE_FAULT if is_unprivileged_syscall(frame) => {
            // The platform ran `syscall` without entering ring 0: it jumped
            // to the entry point but kept CS at the user selector, so the
            // first instruction fetch faulted. rcx and r11 hold what
            // `syscall` saved, exactly as on the normal path.
            frame.rip = frame.rcx;
            frame.rflags = frame.r11;
            resume_next(frame, GuestExit::Hypercall);
            return;
        }
        _ => {}
    }
    let fault_address = if frame.vector == 14 {
        cpu::read_cr2()
    } else {
        0
    };
    let exit = GuestExit::Exception {
        vector: frame.vector as u8,
        error_code: frame.error_code,
        fault_address,
    };
    resume_next(frame, exit);
}

/// Called by the interrupt entries (the APIC timer, COM1 input).
pub extern "C" fn handle_interrupt(frame: &mut TrapFrame) {
    check_entry_flags(frame);
    let exit = if frame.vector == apic::SERIAL_VECTOR as u64 {
        let mut buffer = [0u8; 64];
        loop {
            let count = serial::receive(&mut buffer);
            if count == 0 {
                break;
            }
            crate::console::uart_input(&buffer[..count]);
        }
        GuestExit::Device
    } else {
        GuestExit::Timer
    };
    apic::end_of_interrupt();
    if frame.from_user() {
        resume_next(frame, exit);
    }
    // From ring 0 this interrupted the idle loop, which looks at the clock
    // and the console itself once `hlt` returns.
}

/// Called by the `syscall` entry. Leaves `vector` as `SYSCALL_VECTOR`
/// when the resumed context can return with `sysretq`.
pub extern "C" fn handle_syscall(frame: &mut TrapFrame) {
    resume_next(frame, GuestExit::Hypercall);
    let sysret_safe =
        frame.rcx == frame.rip && frame.r11 == frame.rflags && frame.rip < LOWER_HALF_END;
    if sysret_safe {
        frame.vector = entry::SYSCALL_VECTOR;
    }
}

/// First address above the lower half.
const LOWER_HALF_END: u64 = 0x0000_8000_0000_0000;

fn resume_next(frame: &mut TrapFrame, exit: GuestExit) {
    let mut regs = frame.registers();
    let root = dispatch::guest_exit(exit, &mut regs);
    if cpu::current_root() != root {
        // SAFETY: `root` is a domain address space built by
        // kernel_space::new_root, which maps the hypervisor identically.
        unsafe { cpu::write_cr3(root) };
    }
    frame.load_guest(&regs);
}
