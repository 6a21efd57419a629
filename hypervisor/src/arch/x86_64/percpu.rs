//! Per-CPU state, reached through the GS segment.
//!
//! Each CPU has one [`PerCpu`]; the hypervisor runs with its address in
//! GS_BASE. While a guest runs, the guest's GS base is loaded instead and
//! the per-CPU address waits in KERNEL_GS_BASE: every entry from ring 3
//! executes `swapgs` before touching GS, and every return to ring 3
//! executes it again (see `entry`). Ring 0 code therefore always finds its
//! per-CPU block at `gs:0`, except inside those few entry and exit
//! instructions, where only the NMI handler (which never uses GS) can run.
//!
//! Only one CPU runs today; the structure is what more will need.

use core::mem::offset_of;
use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::registers::model_specific::Msr;

const GS_BASE: u32 = 0xc000_0101;
const KERNEL_GS_BASE: u32 = 0xc000_0102;

/// One CPU's state.
#[repr(C)]
#[derive(Debug)]
pub struct PerCpu {
    /// This structure's own address, so that `gs:0` yields a pointer.
    this: u64,
    /// Top of this CPU's kernel stack (also TSS.rsp0): `syscall` entry
    /// switches to it.
    kernel_stack_top: u64,
    /// The guest's `rsp` while `syscall` entry switches stacks (written by
    /// the entry code).
    user_rsp: AtomicU64,
    /// TSC at which the running domain's time slice ends.
    slice_end: AtomicU64,
    /// TSC deadline the local APIC timer is armed for (0: none).
    armed_deadline: AtomicU64,
    /// 1 while the loaded address space is a guest-user view: a `syscall`
    /// is then a system call for the guest kernel, not a hypercall (read
    /// by the entry code).
    guest_user: AtomicU64,
}

/// Offset of the kernel stack top, for the entry code.
pub const KERNEL_STACK_TOP: usize = offset_of!(PerCpu, kernel_stack_top);
/// Offset of the user `rsp` scratch slot, for the entry code.
pub const USER_RSP: usize = offset_of!(PerCpu, user_rsp);
/// Offset of the guest-user flag, for the entry code.
pub const GUEST_USER: usize = offset_of!(PerCpu, guest_user);

static mut BOOT_CPU: PerCpu = PerCpu {
    this: 0,
    kernel_stack_top: 0,
    user_rsp: AtomicU64::new(0),
    slice_end: AtomicU64::new(0),
    armed_deadline: AtomicU64::new(0),
    guest_user: AtomicU64::new(0),
};

/// Sets up the boot CPU's block with `kernel_stack_top` and points GS at it
/// (KERNEL_GS_BASE, the guests' GS base until they load their own, is 0).
/// Call once, before interrupts or guests can run.
pub fn init(kernel_stack_top: u64) {
    let block = &raw mut BOOT_CPU;
    // SAFETY: runs once at boot on the only CPU, before anything reads the
    // block; the writes go through the raw pointer, no reference escapes.
    unsafe {
        (*block).this = block as u64;
        (*block).kernel_stack_top = kernel_stack_top;
    }
    // SAFETY: GS_BASE and KERNEL_GS_BASE exist on every x86_64 CPU; nothing
    // uses GS yet.
    unsafe {
        Msr::new(GS_BASE).write(block as u64);
        Msr::new(KERNEL_GS_BASE).write(0);
    }
}

/// This CPU's block. Ring 0 code only (GS_BASE must be the hypervisor's).
pub fn this() -> &'static PerCpu {
    let address: u64;
    // SAFETY: in ring 0 outside the entry/exit instructions GS_BASE holds
    // the block's address (module documentation), and its first field is
    // that address.
    unsafe {
        core::arch::asm!("mov {}, gs:[0]", out(reg) address, options(nostack, readonly, preserves_flags));
        &*(address as *const PerCpu)
    }
}

impl PerCpu {
    /// The `rsp` of the guest whose `syscall` is being served.
    pub fn user_rsp(&self) -> u64 {
        self.user_rsp.load(Ordering::Relaxed)
    }

    /// When the running domain's slice ends (TSC).
    pub fn slice_end(&self) -> u64 {
        self.slice_end.load(Ordering::Relaxed)
    }

    /// Starts a new slice ending at TSC `end`.
    pub fn set_slice_end(&self, end: u64) {
        self.slice_end.store(end, Ordering::Relaxed);
    }

    /// The TSC deadline the timer is armed for.
    pub fn armed_deadline(&self) -> u64 {
        self.armed_deadline.load(Ordering::Relaxed)
    }

    /// Records whether the address space just loaded is a guest-user view
    /// (whoever loads CR3 for a guest says so).
    #[inline(always)]
    pub fn set_guest_user(&self, user: bool) {
        self.guest_user.store(u64::from(user), Ordering::Relaxed);
    }

    /// Records the deadline the timer was armed for.
    pub fn set_armed_deadline(&self, deadline: u64) {
        self.armed_deadline.store(deadline, Ordering::Relaxed);
    }
}
