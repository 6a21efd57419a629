//! The privileged instructions an unmodified kernel executes, for guests
//! that run in an emulating execution mode (`mode=emulate` or
//! `mode=patch`): each one traps in ring 3 and the hypervisor emulates it
//! against the domain's virtual CPU (see "Emulation mode" in
//! `docs/abi/hypercalls.md`). In a paravirtualized domain every one of
//! them is a general-protection fault.
//!
//! [`Privileged`] names what a kernel needs the CPU for, and has two
//! implementations: [`Native`] (these instructions) and [`Paravirtual`]
//! (the hypercall interface), so that one workload can run either way.

use core::arch::asm;

use shared_abi::emulation::COM1;

use crate::{hv, interrupts};

/// Line status register of the console UART, and its "ready to send" bit.
const LINE_STATUS: u16 = COM1 + 5;
const TRANSMIT_READY: u8 = 0x20;

/// `cli`.
#[inline(always)]
pub fn cli() {
    // SAFETY: masks (virtual) interrupts; touches no memory.
    unsafe { asm!("cli", options(nomem, nostack)) }
}

/// `sti`.
#[inline(always)]
pub fn sti() {
    // SAFETY: unmasks (virtual) interrupts: a handler may run at once,
    // so this is not `nomem`.
    unsafe { asm!("sti", options(nostack)) }
}

/// `sti; hlt`: enable interrupts and wait for one, atomically.
#[inline(always)]
pub fn sti_hlt() {
    // SAFETY: as `sti`; then waits for an event.
    unsafe { asm!("sti", "hlt", options(nostack)) }
}

/// `pushfq`: the flags as the CPU shows them to ring 3.
#[inline(always)]
pub fn flags() -> u64 {
    let flags: u64;
    // SAFETY: pushes and pops the flags on the stack; nothing else.
    unsafe { asm!("pushfq", "pop {}", out(reg) flags, options(nomem, preserves_flags)) };
    flags
}

/// `popfq` of `value`.
#[inline(always)]
pub fn set_flags(value: u64) {
    // SAFETY: the flags a ring 3 `popfq` may change (IF and IOPL are
    // silently kept) change no memory.
    unsafe { asm!("push {}", "popfq", in(reg) value, options(nomem)) }
}

/// `mov reg, cr3`: the current address space's root.
#[inline(always)]
pub fn read_cr3() -> u64 {
    let value: u64;
    // SAFETY: reads a (virtual) control register.
    unsafe { asm!("mov {}, cr3", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}

/// `mov cr3, reg`: switches address space.
///
/// # Safety
///
/// `root` must be a top-level table of this guest that maps the running
/// code, its stack and everything the caller goes on using.
#[inline(always)]
pub unsafe fn write_cr3(root: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { asm!("mov cr3, {}", in(reg) root, options(nostack, preserves_flags)) }
}

/// `mov reg, cr2`: the last page fault's address.
#[inline(always)]
pub fn read_cr2() -> u64 {
    let value: u64;
    // SAFETY: reads a (virtual) control register.
    unsafe { asm!("mov {}, cr2", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}

/// `mov reg, cr0`.
#[inline(always)]
pub fn read_cr0() -> u64 {
    let value: u64;
    // SAFETY: reads a (virtual) control register.
    unsafe { asm!("mov {}, cr0", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}

/// `invlpg [address]`.
#[inline(always)]
pub fn invlpg(address: u64) {
    // SAFETY: drops a cached translation; any address is allowed.
    unsafe { asm!("invlpg [{}]", in(reg) address, options(nostack, preserves_flags)) }
}

/// `out dx, al`.
#[inline(always)]
pub fn outb(port: u16, value: u8) {
    // SAFETY: port output to the (virtual) console UART.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    }
}

/// `in al, dx`.
#[inline(always)]
pub fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: port input from the (virtual) console UART.
    unsafe {
        asm!("in al, dx", in("dx") port, out("al") value, options(nomem, nostack, preserves_flags))
    };
    value
}

/// `rdmsr`.
#[inline(always)]
pub fn rdmsr(msr: u32) -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: reads a (virtual) model-specific register.
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") low, out("edx") high, options(nomem, nostack))
    };
    (high as u64) << 32 | low as u64
}

/// `wrmsr`.
#[inline(always)]
pub fn wrmsr(msr: u32, value: u64) {
    // SAFETY: writes one of the virtual CPU's model-specific registers,
    // none of which changes what memory means to this guest.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nostack))
    }
}

/// A descriptor-table register as `lidt` and `sidt` see it in memory.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableRegister {
    /// Bytes of the table, minus one.
    pub limit: u16,
    /// Its address.
    pub base: u64,
}

/// `lidt`: from now on exceptions and upcalls go through the table.
///
/// # Safety
///
/// `table` must describe an IDT of this guest whose gates (for every
/// vector that can occur) enter handlers built for the CPU's frame and
/// ending in `iretq`.
pub unsafe fn lidt(table: &TableRegister) {
    // SAFETY: guaranteed by the caller.
    unsafe { asm!("lidt [{}]", in(reg) table, options(nostack, readonly)) }
}

/// `lgdt`.
pub fn lgdt(table: &TableRegister) {
    // SAFETY: the virtual CPU only records the table.
    unsafe { asm!("lgdt [{}]", in(reg) table, options(nostack, readonly)) }
}

/// `sidt`.
pub fn sidt() -> TableRegister {
    let mut table = TableRegister::default();
    // SAFETY: stores 10 bytes into `table`.
    unsafe { asm!("sidt [{}]", in(reg) &mut table, options(nostack)) };
    table
}

/// `sgdt`.
pub fn sgdt() -> TableRegister {
    let mut table = TableRegister::default();
    // SAFETY: stores 10 bytes into `table`.
    unsafe { asm!("sgdt [{}]", in(reg) &mut table, options(nostack)) };
    table
}

/// `smsw`: the low 16 bits of CR0.
pub fn smsw() -> u16 {
    let value: u64;
    // SAFETY: stores into a register.
    unsafe { asm!("smsw {}", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value as u16
}

/// `str`: the task register's selector.
pub fn str() -> u16 {
    let value: u64;
    // SAFETY: stores into a register.
    unsafe { asm!("str {:r}", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value as u16
}

/// Sends `byte` as a native serial driver does: waits until the UART is
/// ready, then writes its transmit register.
pub fn serial_byte(byte: u8) {
    while inb(LINE_STATUS) & TRANSMIT_READY == 0 {}
    outb(COM1, byte);
}

/// What a kernel needs the CPU for, done one way or the other.
pub trait Privileged {
    /// Masks interrupts.
    fn disable_interrupts(&self);
    /// Unmasks them (a pending event is delivered).
    fn enable_interrupts(&self);
    /// Switches to the address space rooted at guest-physical `root`.
    ///
    /// # Safety
    ///
    /// As [`write_cr3`].
    unsafe fn switch_address_space(&self, root: u64);
    /// Drops the cached translation of the page holding `address`.
    fn invalidate_page(&self, address: u64);
    /// Writes one byte to the console.
    fn console_byte(&self, byte: u8);
    /// Writes `bytes` to the console (byte by byte, unless the interface
    /// takes them at once).
    fn console_write(&self, bytes: &[u8]) {
        for &byte in bytes {
            self.console_byte(byte);
        }
    }
}

/// The native instructions (an emulating domain).
#[derive(Clone, Copy, Debug)]
pub struct Native;

impl Privileged for Native {
    fn disable_interrupts(&self) {
        cli()
    }
    fn enable_interrupts(&self) {
        sti()
    }
    unsafe fn switch_address_space(&self, root: u64) {
        // SAFETY: forwarded from the caller.
        unsafe { write_cr3(root) }
    }
    fn invalidate_page(&self, address: u64) {
        invlpg(address)
    }
    fn console_byte(&self, byte: u8) {
        serial_byte(byte)
    }
}

/// The hypercall interface: the mask byte of the shared page, the MMU
/// calls and the early console.
#[derive(Clone, Copy, Debug)]
pub struct Paravirtual;

impl Privileged for Paravirtual {
    fn disable_interrupts(&self) {
        interrupts::disable();
    }
    fn enable_interrupts(&self) {
        interrupts::enable()
    }
    unsafe fn switch_address_space(&self, root: u64) {
        let _ = hv::mmu_set_base(root);
    }
    fn invalidate_page(&self, address: u64) {
        hv::mmu_invalidate_page(address)
    }
    fn console_byte(&self, byte: u8) {
        let _ = hv::console_write(&[byte]);
    }
    fn console_write(&self, bytes: &[u8]) {
        let _ = hv::console_write(bytes);
    }
}
