//! Control registers, MSRs and CPU feature setup.

use core::arch::asm;

use x86_64::registers::model_specific::Msr;

use crate::mm::address::MachineAddr;

const EFER: u32 = 0xc000_0080;
const EFER_SCE: u64 = 1 << 0;
const EFER_NXE: u64 = 1 << 11;

/// Features the hypervisor found and enabled.
#[derive(Clone, Copy, Debug)]
pub struct Features {
    /// Supervisor-mode execution prevention.
    pub smep: bool,
    /// Supervisor-mode access prevention.
    pub smap: bool,
    /// User-mode instruction prevention: `sgdt`, `sidt`, `sldt`, `smsw`
    /// and `str` fault in ring 3 instead of revealing the hypervisor's
    /// descriptor tables.
    pub umip: bool,
    /// The CPU has UMIP (whether or not it was turned on).
    pub umip_available: bool,
}

/// Enables no-execute, write protection in ring 0, global pages, and
/// SMEP, SMAP and (unless `umip` is false) UMIP when the CPU has them. x87 and SSE stay disabled (CR0.EM set,
/// CR4.OSFXSR clear): floating-point state is not switched between domains,
/// so a guest's FPU or SSE instruction faults and is contained instead of
/// leaking state. Panics if the CPU lacks no-execute support, which guest
/// isolation relies on.
pub fn init(umip: bool) -> Features {
    let extended = core::arch::x86_64::__cpuid(0x8000_0001);
    assert!(
        extended.edx & (1 << 20) != 0,
        "the CPU lacks no-execute (NX) support"
    );
    let leaf7 = core::arch::x86_64::__cpuid_count(7, 0);
    let features = Features {
        smep: leaf7.ebx & (1 << 7) != 0,
        smap: leaf7.ebx & (1 << 20) != 0,
        umip: umip && leaf7.ecx & (1 << 2) != 0,
        umip_available: leaf7.ecx & (1 << 2) != 0,
    };
    // SAFETY: setting NXE and SCE in EFER only enables features this
    // hypervisor uses; the MSR exists on every x86_64 CPU.
    unsafe {
        let mut efer = Msr::new(EFER);
        let value = efer.read();
        efer.write(value | EFER_NXE | EFER_SCE);
    }
    // SAFETY: the bits set are AM (alignment checks, for guests that ask for
    // them with RFLAGS.AC), WP, EM and MP in CR0 (TS cleared), and PGE,
    // SMEP, SMAP and UMIP in CR4: none changes the meaning of current
    // mappings for ring-0 code, which is soft-float, never touches user
    // pages through user addresses and never runs the UMIP instructions.
    unsafe {
        let mut cr0: u64;
        asm!("mov {}, cr0", out(reg) cr0, options(nomem, nostack));
        cr0 |= (1 << 18) | (1 << 16) | (1 << 2) | (1 << 1);
        cr0 &= !(1 << 3);
        asm!("mov cr0, {}", in(reg) cr0, options(nostack));
        let mut cr4: u64;
        asm!("mov {}, cr4", out(reg) cr4, options(nomem, nostack));
        cr4 |= 1 << 7;
        if features.smep {
            cr4 |= 1 << 20;
        }
        if features.smap {
            cr4 |= 1 << 21;
        }
        if features.umip {
            cr4 |= 1 << 11;
        }
        asm!("mov cr4, {}", in(reg) cr4, options(nostack));
    }
    features
}

/// The `syscall` entry point MSR.
const LSTAR: u32 = 0xc000_0082;

/// The value last written to LSTAR, so that fault handling need not read
/// the MSR.
static SYSCALL_TARGET: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Points `syscall` at `entry`.
///
/// # Safety
///
/// `entry` must be an entry point written for the `syscall` convention
/// that STAR and SFMASK set up.
pub unsafe fn set_syscall_target(entry: u64) {
    SYSCALL_TARGET.store(entry, core::sync::atomic::Ordering::Relaxed);
    // SAFETY: guaranteed by the caller; LSTAR only affects `syscall`.
    unsafe { Msr::new(LSTAR).write(entry) };
}

/// Where `syscall` goes: the address last given to [`set_syscall_target`].
pub fn syscall_target() -> u64 {
    SYSCALL_TARGET.load(core::sync::atomic::Ordering::Relaxed)
}

/// The value last loaded into CR3, so that the hot path need not read it.
static CURRENT_ROOT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Loads CR3 (switching address space and flushing non-global entries).
///
/// # Safety
///
/// `root` must be a valid PML4 that maps the running code, stack and data.
pub unsafe fn write_cr3(root: MachineAddr) {
    CURRENT_ROOT.store(root.as_u64(), core::sync::atomic::Ordering::Relaxed);
    // SAFETY: guaranteed by the caller.
    unsafe { asm!("mov cr3, {}", in(reg) root.as_u64(), options(nostack)) };
}

/// Loads `root` into CR3 unless it is loaded already.
///
/// # Safety
///
/// As for [`write_cr3`].
pub unsafe fn switch_root(root: MachineAddr) {
    if current_root() != root {
        // SAFETY: guaranteed by the caller.
        unsafe { write_cr3(root) };
    }
}

/// The root last loaded with [`write_cr3`].
pub fn current_root() -> MachineAddr {
    MachineAddr(CURRENT_ROOT.load(core::sync::atomic::Ordering::Relaxed))
}

/// Reads CR3.
pub fn read_cr3() -> MachineAddr {
    let value: u64;
    // SAFETY: reading CR3 has no side effects.
    unsafe { asm!("mov {}, cr3", out(reg) value, options(nomem, nostack)) };
    MachineAddr(value & !0xfff)
}

/// Reads CR2 (the last page-fault address).
pub fn read_cr2() -> u64 {
    let value: u64;
    // SAFETY: reading CR2 has no side effects.
    unsafe { asm!("mov {}, cr2", out(reg) value, options(nomem, nostack)) };
    value
}

/// RFLAGS.AC: alignment checks in ring 3, SMAP override in ring 0.
pub const RFLAGS_AC: u64 = 1 << 18;

/// Reads RFLAGS.
pub fn rflags() -> u64 {
    let value: u64;
    // SAFETY: pushing and popping RFLAGS only reads it.
    unsafe { asm!("pushfq; pop {}", out(reg) value, options(nomem, preserves_flags)) };
    value
}

/// Reads the time-stamp counter.
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc is available on every x86_64 CPU and only reads.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Waits for the next interrupt with interrupts enabled only for the wait
/// (`sti; hlt` is atomic: no interrupt slips in between), then disables
/// them again. The interrupt handler runs before this returns.
pub fn wait_for_interrupt() {
    // SAFETY: the handlers of every interrupt the hypervisor enables (the
    // APIC timer, COM1 input, the disk) only acknowledge it or queue input
    // when they interrupt ring 0.
    unsafe { asm!("sti; hlt; cli", options(nomem, nostack)) };
}

/// Stops the CPU for good.
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: with interrupts disabled, hlt just parks the CPU.
        unsafe { asm!("cli; hlt", options(nomem, nostack)) };
    }
}
