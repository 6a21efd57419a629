//! Executing a decoded privileged instruction against the domain's
//! virtual CPU: what each one does, and the exception it raises instead
//! when its operands call for one (a page fault on an operand in memory
//! the guest cannot reach, a general-protection fault on a non-canonical
//! address), as the CPU would in ring 0.
//!
//! An operand the virtual CPU does not offer (a port other than the
//! console's, an MSR outside the few it has, a control register it does
//! not let the guest write, an `iretq` to anything but the virtual kernel)
//! is [`Effect::NotEmulated`]: the original fault stands, reflected to the
//! guest or stopping it, exactly as in a paravirtualized domain. The
//! registers change only when the instruction completes.

use iced_x86::Register;
use shared_abi::emulation::{
    COM1, RFLAGS_IF, VIRTUAL_CR0, VIRTUAL_CR4, VIRTUAL_EFER, VIRTUAL_KERNEL_CS, msr,
};

use super::interrupt_frame::{FRAME_BYTES, InterruptFrame};
use super::machine::{Machine, MemoryFault};
use super::operation::{Kind, Operation};
use super::registers;
use super::uart;
use super::virtual_cpu::{TABLE_REGISTER_BYTES, TableRegister};
use crate::arch::x86_64::exception::{GENERAL_PROTECTION, PAGE_FAULT, STACK_FAULT};
use crate::arch::x86_64::registers::Registers;
use crate::mm::address::{GuestPhysAddr, GuestVirtAddr, is_guest_address};

/// An exception the guest takes at the instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exception {
    /// Its vector.
    pub vector: u8,
    /// Its error code.
    pub error_code: u64,
    /// For a page fault, the address (the virtual CR2); else 0.
    pub address: u64,
}

impl Exception {
    fn general_protection() -> Self {
        Self {
            vector: GENERAL_PROTECTION,
            error_code: 0,
            address: 0,
        }
    }
}

impl From<MemoryFault> for Exception {
    fn from(fault: MemoryFault) -> Self {
        Self {
            vector: PAGE_FAULT,
            error_code: fault.error_code,
            address: fault.address,
        }
    }
}

/// What executing an instruction came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Done: the registers hold the state after it.
    Continue,
    /// Done, and the vCPU waits for an event before it goes on (`hlt`).
    Halt,
    /// The instruction raises this exception; the registers are as before.
    Raise(Exception),
    /// Not something the virtual CPU does: the original fault stands.
    NotEmulated,
}

/// Whether `address` is canonical (bits 63..47 all equal).
fn is_canonical(address: u64) -> bool {
    ((address as i64) << 16 >> 16) as u64 == address
}

/// Executes `operation` on `regs` (the guest's registers at the
/// instruction) in `machine`.
pub fn execute<M: Machine>(operation: &Operation, regs: &mut Registers, machine: &mut M) -> Effect {
    match perform(operation, regs, machine) {
        Ok(effect) | Err(effect) => effect,
    }
}

/// [`execute`], with every refusal as an early `Err`.
fn perform<M: Machine>(
    operation: &Operation,
    regs: &mut Registers,
    machine: &mut M,
) -> Result<Effect, Effect> {
    let next = operation.address().wrapping_add(operation.length() as u64);
    let mut effect = Effect::Continue;
    match operation.kind() {
        Kind::Cli => machine.set_interrupt_flag(false),
        Kind::Sti => machine.set_interrupt_flag(true),
        Kind::StiHlt | Kind::Hlt => {
            if !machine.can_halt() {
                return Err(Effect::NotEmulated);
            }
            if operation.kind() == Kind::StiHlt {
                machine.set_interrupt_flag(true);
            }
            effect = Effect::Halt;
        }
        Kind::MovToCr3 => {
            let source = operation.register(1).ok_or(Effect::NotEmulated)?;
            let value = registers::read(regs, source).ok_or(Effect::NotEmulated)?;
            // Bits 11..0 (PCID or cache control) and 63 (keep the TLB)
            // carry no meaning here; bits 62..52 are reserved.
            if value & 0x7ff0_0000_0000_0000 != 0 {
                return Err(Effect::NotEmulated);
            }
            if !machine.switch_root(GuestPhysAddr(value & 0x000f_ffff_ffff_f000)) {
                return Err(Effect::NotEmulated);
            }
        }
        Kind::MovFromCr(control) => {
            let value = match control {
                0 => VIRTUAL_CR0,
                2 => machine.cpu().cr2(),
                3 => machine.root().as_u64(),
                4 => VIRTUAL_CR4,
                _ => return Err(Effect::NotEmulated),
            };
            let destination = operation.register(0).ok_or(Effect::NotEmulated)?;
            registers::write(regs, destination, value).ok_or(Effect::NotEmulated)?;
        }
        Kind::Invlpg => machine.invalidate_page(GuestVirtAddr(memory_operand(operation, regs)?)),
        Kind::Lidt | Kind::Lgdt => {
            let address = canonical_operand(operation, regs)?;
            let mut bytes = [0u8; TABLE_REGISTER_BYTES];
            machine
                .read(GuestVirtAddr(address), &mut bytes)
                .map_err(raise)?;
            let table = TableRegister::from_bytes(&bytes);
            if !is_canonical(table.base) {
                return Err(Effect::Raise(Exception::general_protection()));
            }
            match operation.kind() {
                Kind::Lidt => machine.load_idt(table),
                _ => machine.cpu().load_gdt(table),
            }
        }
        Kind::Sidt | Kind::Sgdt => {
            let address = canonical_operand(operation, regs)?;
            let table = match operation.kind() {
                Kind::Sidt => machine.cpu().idtr(),
                _ => machine.cpu().gdtr(),
            };
            machine
                .write(GuestVirtAddr(address), &table.to_bytes())
                .map_err(raise)?;
        }
        Kind::Smsw => store_word(operation, regs, machine, VIRTUAL_CR0 & 0xffff)?,
        // No task register or LDT is ever loaded: both selectors are 0.
        Kind::Str | Kind::Sldt => store_word(operation, regs, machine, 0)?,
        Kind::Out { width } => {
            let offsets = console_registers(operation.port(regs.rdx as u16), width)?;
            for (index, offset) in offsets.enumerate() {
                let byte = (regs.rax >> (8 * index)) as u8;
                if let Some(sent) = machine.cpu().uart_mut().write(offset, byte) {
                    machine.console_byte(sent);
                }
            }
        }
        Kind::In { width } => {
            let offsets = console_registers(operation.port(regs.rdx as u16), width)?;
            let mut value = 0u64;
            for (index, offset) in offsets.enumerate() {
                value |= (machine.cpu().uart_mut().read(offset) as u64) << (8 * index);
            }
            let destination = match width {
                1 => Register::AL,
                2 => Register::AX,
                _ => Register::EAX,
            };
            registers::write(regs, destination, value).ok_or(Effect::NotEmulated)?;
        }
        Kind::Rdmsr => {
            let value = match regs.rcx as u32 {
                msr::TSC => machine.tsc(),
                msr::PAT => machine.cpu().pat(),
                msr::EFER => VIRTUAL_EFER,
                msr::TSC_AUX => machine.cpu().tsc_aux() as u64,
                _ => return Err(Effect::NotEmulated),
            };
            regs.rax = value & 0xffff_ffff;
            regs.rdx = value >> 32;
        }
        Kind::Wrmsr => {
            let value = (regs.rdx << 32) | (regs.rax & 0xffff_ffff);
            let accepted = match regs.rcx as u32 {
                msr::PAT => machine.cpu().set_pat(value),
                msr::EFER => value == VIRTUAL_EFER,
                msr::TSC_AUX => machine.cpu().set_tsc_aux(value),
                _ => false,
            };
            if !accepted {
                return Err(Effect::NotEmulated);
            }
        }
        Kind::Iretq => return iretq(regs, machine),
    }
    regs.rip = next;
    Ok(effect)
}

fn raise(fault: MemoryFault) -> Effect {
    Effect::Raise(fault.into())
}

/// The address of memory operand 0.
fn memory_operand(operation: &Operation, regs: &Registers) -> Result<u64, Effect> {
    operation
        .memory_address(|register| registers::read(regs, register))
        .ok_or(Effect::NotEmulated)
}

/// The address of memory operand 0, which must be canonical.
fn canonical_operand(operation: &Operation, regs: &Registers) -> Result<u64, Effect> {
    let address = memory_operand(operation, regs)?;
    match is_canonical(address) {
        true => Ok(address),
        false => Err(Effect::Raise(Exception::general_protection())),
    }
}

/// `smsw`, `str`, `sldt`: a 16-bit value to a register (zero-extended to
/// its width) or to memory.
fn store_word<M: Machine>(
    operation: &Operation,
    regs: &mut Registers,
    machine: &mut M,
    value: u64,
) -> Result<(), Effect> {
    if let Some(destination) = operation.register(0) {
        return registers::write(regs, destination, value).ok_or(Effect::NotEmulated);
    }
    let address = canonical_operand(operation, regs)?;
    machine
        .write(GuestVirtAddr(address), &(value as u16).to_le_bytes())
        .map_err(raise)
}

/// The console UART's registers that an access of `width` bytes at `port`
/// reaches (one port per byte); refused unless every one is the UART's.
fn console_registers(port: u16, width: u8) -> Result<impl Iterator<Item = u16>, Effect> {
    let first = port.wrapping_sub(COM1);
    match first.checked_add(width as u16) {
        Some(end) if end <= uart::REGISTERS => Ok(first..end),
        _ => Err(Effect::NotEmulated),
    }
}

/// `iretq` from a frame the virtual IDT delivered (or the guest built
/// alike): returns to the virtual kernel with the frame's flags, the
/// virtual interrupt flag among them.
fn iretq<M: Machine>(regs: &mut Registers, machine: &mut M) -> Result<Effect, Effect> {
    if !is_canonical(regs.rsp) {
        return Err(Effect::Raise(Exception {
            vector: STACK_FAULT,
            error_code: 0,
            address: 0,
        }));
    }
    let mut bytes = [0u8; FRAME_BYTES];
    machine
        .read(GuestVirtAddr(regs.rsp), &mut bytes)
        .map_err(raise)?;
    let frame = InterruptFrame::from_bytes(&bytes);
    if frame.cs != VIRTUAL_KERNEL_CS as u64 {
        // A return to any other privilege is not the virtual kernel's to
        // make: the CPU's own fault stands.
        return Err(Effect::NotEmulated);
    }
    if !is_guest_address(frame.rip) || !is_guest_address(frame.rsp) {
        return Err(Effect::Raise(Exception::general_protection()));
    }
    machine.set_interrupt_flag(frame.rflags & RFLAGS_IF != 0);
    regs.rip = frame.rip;
    regs.rsp = frame.rsp;
    regs.rflags = frame.rflags;
    Ok(Effect::Continue)
}

#[cfg(test)]
mod tests;
