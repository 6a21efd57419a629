//! Programs the `syscall` MSRs: the hypercall entry point, the segment
//! selectors for `syscall`/`sysret`, and the flags masked on entry.

use x86_64::registers::model_specific::Msr;

use super::cpu;
use super::entry::{bench_syscall_entry, syscall_entry};
use super::gdt::{KERNEL_CS, USER_SS};

const STAR: u32 = 0xc000_0081;
const SFMASK: u32 = 0xc000_0084;
/// Cleared on entry: TF, IF, DF, IOPL, NT, AC.
const ENTRY_FLAGS_MASK: u64 = 0x0004_7700;

/// Points `syscall` at the hypercall entry.
pub fn init() {
    // sysret loads CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8; syscall
    // loads CS = STAR[47:32] and SS = STAR[47:32] + 8.
    let sysret_base = (USER_SS as u64 & !3) - 8;
    let star = (sysret_base << 48) | ((KERNEL_CS as u64) << 32);
    // SAFETY: these MSRs only affect the `syscall` instruction; the entry
    // point is written for exactly this convention and EFER.SCE is set by
    // cpu::init.
    unsafe {
        Msr::new(STAR).write(star);
        cpu::set_syscall_target(syscall_entry as *const () as u64);
        Msr::new(SFMASK).write(ENTRY_FLAGS_MASK);
    }
}

/// Points `syscall` at the bench's entry, which answers the bench's bare
/// round trip itself (`hv_bench`).
pub fn use_bench_entry() {
    // SAFETY: the bench entry follows the same convention as the normal
    // one, to which it hands every other call.
    unsafe { cpu::set_syscall_target(bench_syscall_entry as *const () as u64) };
}
