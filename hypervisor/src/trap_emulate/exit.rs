//! An emulated domain's faults, as the dispatcher hands them over: a
//! general-protection fault is decoded and emulated (and, in patch mode,
//! the instruction patched); a breakpoint at a patched site runs the
//! recorded operation. Whatever is not emulated goes back to the
//! dispatcher, which reflects or contains it as for any domain.

use shared_abi::emulation::Mode;

use super::domain_machine::DomainMachine;
use crate::arch::x86_64::exception::{BREAKPOINT, DEBUG, GENERAL_PROTECTION, PAGE_FAULT};
use crate::arch::x86_64::frame::TrapFrame;
use crate::arch::x86_64::registers::RFLAGS_TF;
use crate::domain::{CodeByte, Domain, State, trap_delivery};
use crate::emulate::execute::{Effect, Exception, execute};
use crate::emulate::operation::{self, Kind, Operation};
use crate::emulate::patch::{INT3, Patch};
use crate::hypercall::Outcome;
use crate::instruction::MAX_INSTRUCTION_BYTES;
use crate::instruction::{Privileged, privileged_instruction};
use crate::mm::address::GuestVirtAddr;
use crate::mm::guest_walk::error_code;
use crate::{containment, debug};

/// Serves exception `vector` (with `error_code`) of `domain`, in an
/// emulating mode, at `frame`, or `None` to leave it to the dispatcher.
///
/// Besides general-protection faults, a page fault that a ring 3
/// instruction raised with a supervisor-mode access to a guest page
/// comes here: QEMU's TCG performs `iretq`'s stack reads as supervisor
/// accesses, which SMAP refuses on a user page before the CPU gets to the
/// privilege check that would raise the general-protection fault. No
/// instruction a guest runs makes such an access to the lower half on a
/// CPU (its implicit supervisor accesses reach descriptor tables, which
/// are the hypervisor's), so the fault is taken for the `iretq` it is.
#[cold]
#[inline(never)]
pub fn exception(
    domain: &mut Domain,
    frame: &mut TrapFrame,
    vector: u8,
    error_code: u64,
) -> Option<Outcome> {
    match vector {
        GENERAL_PROTECTION => emulate(domain, frame, |_| true),
        PAGE_FAULT if error_code & error_code::USER == 0 => {
            emulate(domain, frame, |kind| kind == Kind::Iretq)
                .or_else(|| refused_iret(domain, frame))
        }
        BREAKPOINT if domain.mode() == Mode::Patch => patched(domain, frame),
        _ => None,
    }
}

/// Trap and emulate: fetch, decode and run the instruction at `rip`, if
/// `accept` takes it.
fn emulate(
    domain: &mut Domain,
    frame: &mut TrapFrame,
    accept: fn(Kind) -> bool,
) -> Option<Outcome> {
    let rip = frame.scratch.rip;
    let mut bytes = [0u8; MAX_INSTRUCTION_BYTES];
    let fetched = domain.fetch_instruction(GuestVirtAddr(rip), &mut bytes);
    let operation = operation::decode(&bytes[..fetched], rip).filter(|op| accept(op.kind()))?;
    // Where the instruction is, found before it runs: a `mov cr3` changes
    // the address space, and the patch belongs where the bytes were read.
    let site = match domain.mode() {
        Mode::Patch => domain.code_byte(GuestVirtAddr(rip)).ok(),
        _ => None,
    };
    let (outcome, completed) = run(domain, frame, &operation)?;
    domain.counters_mut().emulated();
    if completed && let Some(site) = site {
        install(domain, operation, &bytes[..fetched], site);
    }
    Some(outcome)
}

/// Runs `operation` on the frame; `None` if the virtual CPU refused it,
/// else what happens next and whether the instruction completed (rather
/// than raising an exception).
fn run(
    domain: &mut Domain,
    frame: &mut TrapFrame,
    operation: &Operation,
) -> Option<(Outcome, bool)> {
    let mut regs = frame.registers();
    let effect = execute(operation, &mut regs, &mut DomainMachine::new(domain)?);
    match effect {
        Effect::NotEmulated => None,
        Effect::Continue => {
            let stepping = frame.scratch.rflags & RFLAGS_TF != 0;
            frame.load_guest(&regs);
            match stepping {
                true => Some((single_step(domain, frame), true)),
                false => Some((Outcome::Resume, true)),
            }
        }
        Effect::Halt => {
            frame.load_guest(&regs);
            let outcome = match domain.event_waiting() {
                true => Outcome::Resume,
                false => Outcome::Block,
            };
            Some((outcome, true))
        }
        Effect::Raise(exception) => Some((raise(domain, frame, exception), false)),
    }
}

/// The single-step trap the CPU raises after an instruction run with TF
/// set, which the emulated one did not: a debugger stepping the domain
/// takes it, else the guest does.
fn single_step(domain: &mut Domain, frame: &mut TrapFrame) -> Outcome {
    if debug::takes_trap(domain, frame, DEBUG) {
        return Outcome::Yield;
    }
    let exception = Exception {
        vector: DEBUG,
        error_code: 0,
        address: 0,
    };
    raise(domain, frame, exception)
}

/// Delivers `exception` at the instruction, or stops the domain if it
/// cannot be delivered.
fn raise(domain: &mut Domain, frame: &mut TrapFrame, exception: Exception) -> Outcome {
    let (vector, error_code, address) = (exception.vector, exception.error_code, exception.address);
    match trap_delivery::deliver(domain, frame, vector, error_code, address) {
        Ok(()) => Outcome::Resume,
        Err(why) => {
            let rip = frame.scratch.rip;
            containment::report(domain, rip, vector, error_code, address, why);
            Outcome::End(State::Stopped)
        }
    }
}

/// An `iret` (of any operand size) the virtual CPU refused, whose stack
/// read QEMU raised as a supervisor-mode page fault: the CPU would raise
/// a general-protection fault (returning to the virtual kernel's
/// privilege is the only return it could not make in ring 3), so that is
/// what the guest gets. Retrying the instruction would only fault again.
fn refused_iret(domain: &mut Domain, frame: &mut TrapFrame) -> Option<Outcome> {
    let mut bytes = [0u8; MAX_INSTRUCTION_BYTES];
    let fetched = domain.fetch_instruction(GuestVirtAddr(frame.scratch.rip), &mut bytes);
    if privileged_instruction(&bytes[..fetched]) != Some(Privileged::Plain("iret")) {
        return None;
    }
    let exception = Exception {
        vector: GENERAL_PROTECTION,
        error_code: 0,
        address: 0,
    };
    Some(raise(domain, frame, exception))
}

/// Patches the instruction `operation` decoded from `bytes` at `byte`: its
/// first byte becomes `int3` and the table records it. Nothing happens
/// when the table is full.
fn install(domain: &mut Domain, operation: Operation, bytes: &[u8], byte: CodeByte) {
    let Some(patch) = Patch::new(operation, byte.location(), bytes) else {
        return;
    };
    let Some(emulation) = domain.emulation_mut() else {
        return;
    };
    if byte.read() == bytes[0] && emulation.patches_mut().insert(patch) {
        byte.write(INT3);
    }
}

/// A breakpoint in a patch-mode domain: at a patched site whose code is
/// intact, the recorded operation runs. A site the guest has rewritten, or
/// whose operation the virtual CPU refuses with today's operands, is
/// undone, and the guest resumes at it: the instruction now there runs
/// (and faults, and is emulated, as itself). Any other breakpoint is the
/// guest's own.
fn patched(domain: &mut Domain, frame: &mut TrapFrame) -> Option<Outcome> {
    let site = frame.scratch.rip.wrapping_sub(1);
    let byte = domain.code_byte(GuestVirtAddr(site)).ok()?;
    let patch = *domain.emulation()?.patches().find(site, byte.location())?;
    let mut now = [0u8; MAX_INSTRUCTION_BYTES];
    let len = patch.len();
    let fetched = byte.read_within_page(&mut now[..len])
        || domain
            .read_guest(GuestVirtAddr(site), &mut now[..len])
            .is_ok();
    let intact = fetched && patch.intact(&now[..len]);
    frame.scratch.rip = site;
    if intact && let Some((outcome, _)) = run(domain, frame, patch.operation()) {
        domain.counters_mut().patched();
        return Some(outcome);
    }
    if byte.read() == INT3 {
        byte.write(patch.original_first_byte());
    }
    domain
        .emulation_mut()?
        .patches_mut()
        .remove(site, patch.location());
    Some(Outcome::Resume)
}
