//! The Rust side of every ring transition: decide whether an exception is
//! the hypervisor's own (fatal) or a guest's (contained), and hand each
//! guest exit, as a typed [`Exit`], to the core that [`install`] registered.
//!
//! This is mechanism only: what an exit means (which domain runs next, what
//! a hypercall does) is the core's business. The core receives the frame
//! and leaves in it the context to resume (and loads its address space).

use core::sync::atomic::{AtomicBool, Ordering};

use shared_abi::bench::FAULT_PROBE_ADDRESS;
use spin::Once;

use super::fatal;
use super::frame::{Fast, SYSCALL_VECTOR, ScratchFrame, TrapFrame};
use super::{apic, cpu, ioapic};

/// Why a guest stopped running.
#[derive(Clone, Copy, Debug)]
pub enum Exit {
    /// It issued `syscall`.
    Hypercall,
    /// It issued `syscall` and the fast path served it (`rax` holds the
    /// result), but something became due that needs the full path.
    HypercallServed,
    /// It raised an exception.
    Exception {
        /// Exception vector.
        vector: u8,
        /// Error code (0 when the vector has none).
        error_code: u64,
        /// CR2 for page faults.
        fault_address: u64,
    },
    /// The hypervisor's timer fired.
    Timer,
    /// A device interrupted (console input).
    Device,
}

/// What the core provides to the entry code.
#[derive(Clone, Copy, Debug)]
pub struct Core {
    /// Tries to serve a hypercall on the scratch frame alone, without the
    /// caller's other registers (called by the `syscall` entry itself).
    /// Unless it returns [`Fast::Done`] it must have completed the frame
    /// ([`ScratchFrame::complete_syscall`]).
    pub hypercall_fast: extern "C" fn(&mut ScratchFrame) -> Fast,
    /// Takes a `syscall` made while a guest-user address space is loaded
    /// (per-CPU flag), with the contract of `hypercall_fast`: a system call
    /// for the guest kernel, never a hypercall.
    pub system_call_fast: extern "C" fn(&mut ScratchFrame) -> Fast,
    /// Serves a guest's exit: on return, `frame` holds the context to
    /// resume and its address space is loaded.
    pub exit: fn(&mut TrapFrame, Exit),
    /// COM1 interrupted (called in interrupt context, also while the
    /// hypervisor idles): the core reads what it received, or leaves it to
    /// whoever it lets read the UART.
    pub uart_interrupt: fn(),
}

static CORE: Once<Core> = Once::new();

/// Registers the core; exits before this are fatal.
pub fn install(core: Core) {
    CORE.call_once(|| core);
    // SAFETY: written once at boot, before any guest can issue `syscall`
    // (the only reader, the entry code); the function follows the C ABI
    // the entry code calls it with.
    unsafe {
        HYPERCALL_FAST = core.hypercall_fast;
        SYSTEM_CALL_FAST = core.system_call_fast;
    }
}

/// The fast hypercall path the `syscall` entry calls with the scratch
/// frame (see [`Core::hypercall_fast`]); until the core is installed,
/// nothing is served fast.
pub(super) static mut HYPERCALL_FAST: extern "C" fn(&mut ScratchFrame) -> Fast = unserved;

/// What the `syscall` entry calls instead while the per-CPU guest-user
/// flag is set (see [`Core::system_call_fast`]).
pub(super) static mut SYSTEM_CALL_FAST: extern "C" fn(&mut ScratchFrame) -> Fast = unserved;

extern "C" fn unserved(frame: &mut ScratchFrame) -> Fast {
    frame.complete_syscall();
    Fast::Unserved
}

fn core() -> &'static Core {
    match CORE.get() {
        Some(core) => core,
        None => panic!("a guest exit before the core was installed"),
    }
}

const NMI: u64 = 2;
const DOUBLE_FAULT: u64 = 8;
const MACHINE_CHECK: u64 = 18;
const PAGE_FAULT: u64 = 14;
/// Page-fault error code of a user-mode instruction fetch from a present
/// (supervisor-only) page.
const USER_FETCH_OF_PRESENT_PAGE: u64 = 0b10101;

/// Whether a ring 3 page fault is a `syscall` that arrived at its entry
/// point (the one `syscall` is pointed at now) without the privilege
/// change: seen on some nested KVM platforms, never on hardware or under
/// TCG. A guest jumping to the entry point on purpose gets exactly what a
/// `syscall` would have given it.
fn is_unprivileged_syscall(frame: &ScratchFrame) -> bool {
    frame.error_code & USER_FETCH_OF_PRESENT_PAGE == USER_FETCH_OF_PRESENT_PAGE
        && frame.rip == cpu::syscall_target()
}

/// Whether the bench fault probe is answered (`hv_bench`).
pub static BENCH_PROBE: AtomicBool = AtomicBool::new(false);

/// Stops the machine if the entry code left RFLAGS.AC set: a guest may set
/// it with `popf`, and the hypervisor must never run with SMAP overridden.
fn check_entry_flags(frame: &TrapFrame) {
    assert!(
        cpu::rflags() & cpu::RFLAGS_AC == 0,
        "entry for vector {:#x} left RFLAGS.AC set",
        frame.scratch.vector
    );
}

/// Called by the exception stubs.
pub extern "C" fn handle_exception(frame: &mut TrapFrame) {
    check_entry_flags(frame);
    match frame.scratch.vector {
        DOUBLE_FAULT | MACHINE_CHECK => fatal::exception(frame),
        NMI => {
            log::warn!("non-maskable interrupt at rip {:#x}", frame.scratch.rip);
            return;
        }
        _ if !frame.interrupted_user() => fatal::exception(frame),
        PAGE_FAULT
            if BENCH_PROBE.load(Ordering::Relaxed) && cpu::read_cr2() == FAULT_PROBE_ADDRESS =>
        {
            // The bench's baseline: a fault on the hypervisor's own mapping,
            // answered with no work (see shared_abi::bench).
            frame.scratch.rip = frame.scratch.rcx;
            return;
        }
        PAGE_FAULT if is_unprivileged_syscall(&frame.scratch) => {
            // The platform ran `syscall` without entering ring 0: it jumped
            // to the entry point but kept CS at the user selector, so the
            // first instruction fetch faulted. rcx and r11 hold what
            // `syscall` saved, exactly as on the normal path.
            frame.scratch.rip = frame.scratch.rcx;
            frame.scratch.rflags = frame.scratch.r11;
            (core().exit)(frame, Exit::Hypercall);
            return;
        }
        _ => {}
    }
    let fault_address = if frame.scratch.vector == PAGE_FAULT {
        cpu::read_cr2()
    } else {
        0
    };
    let exit = Exit::Exception {
        vector: frame.scratch.vector as u8,
        error_code: frame.scratch.error_code,
        fault_address,
    };
    (core().exit)(frame, exit);
}

/// Called by the interrupt entries (the APIC timer, COM1 input, the disk).
pub extern "C" fn handle_interrupt(frame: &mut TrapFrame) {
    check_entry_flags(frame);
    let exit = if frame.scratch.vector == apic::SERIAL_VECTOR as u64 {
        (core().uart_interrupt)();
        Exit::Device
    } else if frame.scratch.vector == apic::DISK_VECTOR as u64 {
        // The driver domain acknowledges the device itself: its line stays
        // masked until the domain says it is done (`irq_done`).
        ioapic::interrupted(apic::DISK_VECTOR);
        Exit::Device
    } else {
        Exit::Timer
    };
    apic::end_of_interrupt();
    if frame.interrupted_user() {
        (core().exit)(frame, exit);
    }
    // From ring 0 this interrupted the idle loop, which looks at the
    // clock, the console and the assigned device itself once `hlt`
    // returns.
}

/// Called by the `syscall` entry when the fast path could not finish
/// (`fast` is what it returned), with the whole frame saved. Leaves
/// `vector` as `SYSCALL_VECTOR` when the resumed context can return with
/// `sysretq`, and 0 when it needs `iretq`.
pub extern "C" fn handle_syscall(frame: &mut TrapFrame, fast: u8) {
    let exit = match fast {
        1 => Exit::HypercallServed,
        _ => Exit::Hypercall,
    };
    (core().exit)(frame, exit);
    let s = &mut frame.scratch;
    let sysret_safe = s.rcx == s.rip && s.r11 == s.rflags && s.rip < LOWER_HALF_END;
    s.vector = if sysret_safe { SYSCALL_VECTOR } else { 0 };
}

/// First address above the lower half.
const LOWER_HALF_END: u64 = 0x0000_8000_0000_0000;
