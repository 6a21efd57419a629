//! The `syscall` instruction with this project's register convention
//! (number in `rax`, arguments in `rdi`, `rsi`, `rdx`, `r10`, `r8`, result
//! in `rax`; `rcx` and `r11` clobbered), shared by the guest runtime's
//! hypercalls and the user side of the guest kernel's system calls.

/// Issues `syscall` with `number` and five arguments; returns `rax`.
///
/// # Safety
///
/// Whoever answers (the hypervisor, or a guest kernel) may write memory the
/// arguments point at: they must be valid for what the call does.
#[inline]
pub(crate) unsafe fn syscall(number: u64, args: [u64; 5]) -> u64 {
    let result: u64;
    // SAFETY: forwarded from the caller; the instruction clobbers only rcx
    // and r11 besides rax. Memory may be written by calls that take an
    // out-pointer, so the asm is not `nomem`.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") number => result,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    result
}
