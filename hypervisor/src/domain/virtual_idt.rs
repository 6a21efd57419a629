//! Delivery through the virtual IDT: once an emulated domain has loaded
//! one with `lidt`, its exceptions and event upcalls enter the handler its
//! gate names with the frame the CPU would push for a kernel (selector
//! `VIRTUAL_KERNEL_CS`, so that the handler's `iretq` faults and is
//! emulated), an interrupt gate clearing the virtual interrupt flag.
//!
//! A gate that is missing, beyond the table's limit, not an interrupt or
//! trap gate, or pointing outside the lower half leaves the event
//! undeliverable, and the domain is stopped with a report: on a CPU it
//! would escalate to a double fault.

use shared_abi::emulation::RFLAGS_IF;
use shared_abi::trap::UPCALL_VECTOR;

use super::Domain;
use super::undeliverable::Undeliverable;
use super::vcpu::Context;
use crate::arch::x86_64::exception::{PAGE_FAULT, has_error_code};
use crate::emulate::interrupt_frame::{GATE_BYTES, InterruptFrame, gate, gate_address};
use crate::mm::address::{GuestVirtAddr, is_guest_address};

/// Flags an interrupt clears on entry: TF, NT and RF.
const CLEARED_ON_ENTRY: u64 = (1 << 8) | (1 << 14) | (1 << 16);

/// Enters the domain's virtual IDT handler for `vector` from `context`,
/// with `error_code` pushed if the vector has one and, for a page fault,
/// the virtual CR2 set to `fault_address`.
pub fn deliver(
    domain: &mut Domain,
    context: &mut impl Context,
    vector: u8,
    error_code: u64,
    fault_address: u64,
) -> Result<(), Undeliverable> {
    let idt = domain
        .emulation()
        .and_then(|emulation| emulation.cpu().idt())
        .ok_or(Undeliverable::NoHandler)?;
    let address = gate_address(idt, vector).ok_or(Undeliverable::NoHandler)?;
    let mut raw = [0u8; GATE_BYTES];
    domain
        .read_guest(GuestVirtAddr(address), &mut raw)
        .map_err(|_| Undeliverable::NoHandler)?;
    let gate = gate(&raw).ok_or(Undeliverable::NoHandler)?;
    if context.rip() == gate.handler && vector as u64 != UPCALL_VECTOR {
        return Err(Undeliverable::HandlerFaulted);
    }
    let interrupt_flag = if domain.interrupt_flag() {
        RFLAGS_IF
    } else {
        0
    };
    let rflags = (context.rflags() & !RFLAGS_IF) | interrupt_flag;
    let frame = InterruptFrame::kernel(context.rip(), rflags, context.rsp());
    let pushed = has_error_code(vector).then_some(error_code);
    let (top, bytes, len) = frame.push(pushed).ok_or(Undeliverable::BadStack)?;
    if !is_guest_address(top) {
        return Err(Undeliverable::BadStack);
    }
    domain
        .write_guest(GuestVirtAddr(top), &bytes[..len])
        .map_err(|_| Undeliverable::BadStack)?;
    if vector == PAGE_FAULT
        && let Some(emulation) = domain.emulation_mut()
    {
        emulation.cpu_mut().set_cr2(fault_address);
    }
    context.set_rsp(top);
    context.set_rip(gate.handler);
    context.set_rflags(context.rflags() & !CLEARED_ON_ENTRY);
    if gate.clears_interrupts {
        domain.set_interrupt_flag(false);
    }
    Ok(())
}
