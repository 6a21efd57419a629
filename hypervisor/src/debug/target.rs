//! The debugged domain as `gdbstub`'s [`Target`]: its vCPU's registers,
//! its memory through its own page tables, software breakpoints,
//! continue and single-step.
//!
//! The target owns what the debugger keeps about the domain (breakpoints,
//! whether it is single-stepping) and reaches the domain itself through the
//! domain table, which the session lends it while packets are served
//! ([`DomainTarget::lend`]): the domain is held then, so its registers are
//! the ones its vCPU resumes with. Whatever gdb asks that the domain cannot
//! give (memory its tables do not map, an ended domain's registers) is a
//! non-fatal error gdb reports; nothing gdb sends ends the hypervisor.

use core::convert::Infallible;

use gdbstub::arch::Arch;
use gdbstub::common::Signal;
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::breakpoints::{Breakpoints as BreakpointsExt, SwBreakpoint};
use gdbstub::target::ext::breakpoints::{BreakpointsOps, SwBreakpointOps};
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbstub_arch::x86::X86_64_SSE;
use gdbstub_arch::x86::reg::X86_64CoreRegs;

use super::breakpoints::Breakpoints;
use super::stop::Stop;
use crate::arch::x86_64::gdt::{USER_CS, USER_SS};
use crate::arch::x86_64::registers::RFLAGS_TF;
use crate::domain::table::DomainTable;
use crate::domain::vcpu::Registers;
use crate::domain::{Domain, DomainMemory};
use crate::mm::address::{GuestVirtAddr, is_guest_address};
use crate::mm::guest_view::GuestView;

/// The debugged domain and what the debugger keeps about it.
pub struct DomainTarget {
    /// The domain table while packets are served; empty otherwise.
    table: DomainTable,
    /// The debugged domain's identifier.
    id: u32,
    breakpoints: Breakpoints,
    /// The domain resumed for one instruction (RFLAGS.TF set by us).
    stepping: bool,
    /// The last stop reported.
    last_stop: Option<Stop>,
    /// gdb resumed a fault stop with its signal: the fault is let through
    /// (delivered or contained) when it comes again.
    pass_fault: bool,
    /// The vector of the fault let through last.
    passed: Option<u8>,
}

impl DomainTarget {
    /// The target for domain `id`.
    pub fn new(id: u32) -> Self {
        Self {
            table: DomainTable::new(),
            id,
            breakpoints: Breakpoints::default(),
            stepping: false,
            last_stop: None,
            pass_fault: false,
            passed: None,
        }
    }

    /// The debugged domain's identifier.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Swaps `table` with the one the target holds: the caller's table is
    /// lent to the target (and an empty one left in its place) until the
    /// second call gives it back.
    pub fn lend(&mut self, table: &mut DomainTable) {
        core::mem::swap(&mut self.table, table);
    }

    /// The debugged domain, if it is alive (and the table is lent).
    fn domain(&mut self) -> Option<&mut Domain> {
        self.table.domain(self.id)
    }

    /// Stops the domain where it is (it runs again when resumed).
    pub fn hold(&mut self) {
        if let Some(domain) = self.domain() {
            domain.hold();
        }
    }

    /// Notes the stop about to be reported.
    pub fn note_stop(&mut self, stop: Stop) {
        self.last_stop = Some(stop);
        self.stepping = false;
    }

    /// Whether the domain was resumed for a single step.
    pub fn is_stepping(&self) -> bool {
        self.stepping
    }

    /// Whether fault `vector`, raised now, goes its usual way: gdb passed
    /// the signal of the fault it stopped at. Asking consumes the answer.
    pub fn passes_fault(&mut self, vector: u8) -> bool {
        let passes = core::mem::take(&mut self.pass_fault);
        if passes {
            self.passed = Some(vector);
        }
        passes
    }

    /// The vector of the last fault let through, if any.
    pub fn passed_fault(&self) -> Option<u8> {
        self.passed
    }

    /// The planted breakpoints.
    pub fn breakpoints(&self) -> &Breakpoints {
        &self.breakpoints
    }

    /// Ends the session's hold on the domain: every breakpoint removed,
    /// single-stepping off, the domain released.
    pub fn detach(&mut self) {
        let stepping = core::mem::take(&mut self.stepping);
        self.pass_fault = false;
        let Some(domain) = self.table.domain(self.id) else {
            self.breakpoints.forget_all();
            return;
        };
        if let Some(view) = domain.debug_view() {
            self.breakpoints.remove_all(&view);
        }
        if stepping {
            set_trap_flag(domain, false);
        }
        domain.release();
    }

    /// The domain ended: its memory is gone, and so are the breakpoints.
    pub fn domain_ended(&mut self) {
        self.breakpoints.forget_all();
        self.stepping = false;
    }

    /// Resumes the domain, for one instruction when `step`.
    fn resume_domain(&mut self, step: bool, signal: Option<Signal>) {
        let was_stepping = core::mem::replace(&mut self.stepping, step);
        self.pass_fault = signal.is_some() && matches!(self.last_stop, Some(Stop::Fault { .. }));
        let Some(domain) = self.table.domain(self.id) else {
            return;
        };
        if step || was_stepping {
            set_trap_flag(domain, step);
        }
        domain.release();
    }
}

impl DomainTarget {
    /// `access(breakpoints, view)` on the debugged domain's memory; an
    /// ended domain, or `None` from `access`, is an error for gdb.
    fn with_view<R>(
        &mut self,
        access: impl FnOnce(&mut Breakpoints, &GuestView<'_, DomainMemory>) -> Option<R>,
    ) -> TargetResult<R, Self> {
        let domain = self.table.domain(self.id).ok_or(TargetError::NonFatal)?;
        let view = domain.debug_view().ok_or(TargetError::NonFatal)?;
        access(&mut self.breakpoints, &view).ok_or(TargetError::NonFatal)
    }
}

/// Sets or clears RFLAGS.TF in the registers `domain` resumes with.
fn set_trap_flag(domain: &mut Domain, on: bool) {
    let mut regs = domain.vcpu_mut().registers();
    regs.rflags = match on {
        true => regs.rflags | RFLAGS_TF,
        false => regs.rflags & !RFLAGS_TF,
    };
    domain.vcpu_mut().set_registers(&regs);
}

/// gdb's order of the general registers: rax, rbx, rcx, rdx, rsi, rdi,
/// rbp, rsp, r8 .. r15.
fn general(regs: &Registers) -> [u64; 16] {
    [
        regs.rax, regs.rbx, regs.rcx, regs.rdx, regs.rsi, regs.rdi, regs.rbp, regs.rsp, regs.r8,
        regs.r9, regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15,
    ]
}

impl Target for DomainTarget {
    type Arch = X86_64_SSE;
    type Error = Infallible;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::SingleThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    /// Acknowledged packets throughout: a gdb that connects after another
    /// went away without detaching starts in that mode too.
    fn use_no_ack_mode(&self) -> bool {
        false
    }
}

type Usize = <X86_64_SSE as Arch>::Usize;

impl SingleThreadBase for DomainTarget {
    fn read_registers(&mut self, out: &mut X86_64CoreRegs) -> TargetResult<(), Self> {
        let domain = self.domain().ok_or(TargetError::NonFatal)?;
        let regs = domain.vcpu_mut().registers();
        out.regs = general(&regs);
        out.rip = regs.rip;
        out.eflags = regs.rflags as u32;
        out.segments.cs = u32::from(USER_CS);
        out.segments.ss = u32::from(USER_SS);
        Ok(())
    }

    fn write_registers(&mut self, new: &X86_64CoreRegs) -> TargetResult<(), Self> {
        if !is_guest_address(new.rip) {
            return Err(TargetError::NonFatal);
        }
        let domain = self.domain().ok_or(TargetError::NonFatal)?;
        let [
            rax,
            rbx,
            rcx,
            rdx,
            rsi,
            rdi,
            rbp,
            rsp,
            r8,
            r9,
            r10,
            r11,
            r12,
            r13,
            r14,
            r15,
        ] = new.regs;
        let rflags = u64::from(new.eflags);
        let regs = Registers {
            rax,
            rbx,
            rcx,
            rdx,
            rsi,
            rdi,
            rbp,
            r8,
            r9,
            r10,
            r11,
            r12,
            r13,
            r14,
            r15,
            rip: new.rip,
            rsp,
            rflags,
        };
        domain.vcpu_mut().set_registers(&regs);
        Ok(())
    }

    fn read_addrs(&mut self, start: Usize, data: &mut [u8]) -> TargetResult<usize, Self> {
        let addr = GuestVirtAddr(start);
        self.with_view(|breakpoints, view| {
            let read = view.read(addr, data);
            breakpoints.hide(view, addr, &mut data[..read]);
            (read > 0 || data.is_empty()).then_some(read)
        })
    }

    fn write_addrs(&mut self, start: Usize, data: &[u8]) -> TargetResult<(), Self> {
        self.with_view(|breakpoints, view| breakpoints.write(view, GuestVirtAddr(start), data).ok())
    }

    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadResume for DomainTarget {
    fn resume(&mut self, signal: Option<Signal>) -> Result<(), Self::Error> {
        self.resume_domain(false, signal);
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadSingleStep for DomainTarget {
    fn step(&mut self, signal: Option<Signal>) -> Result<(), Self::Error> {
        self.resume_domain(true, signal);
        Ok(())
    }
}

impl BreakpointsExt for DomainTarget {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }
}

impl SwBreakpoint for DomainTarget {
    fn add_sw_breakpoint(&mut self, addr: Usize, _kind: usize) -> TargetResult<bool, Self> {
        self.with_view(|breakpoints, view| {
            Some(breakpoints.insert(view, GuestVirtAddr(addr)).is_ok())
        })
    }

    fn remove_sw_breakpoint(&mut self, addr: Usize, _kind: usize) -> TargetResult<bool, Self> {
        self.with_view(|breakpoints, view| Some(breakpoints.remove(view, GuestVirtAddr(addr))))
    }
}
