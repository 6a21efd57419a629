//! The end of the line for a fault in the hypervisor itself or a panic: a
//! register dump on the serial port, then QEMU exits with
//! [`HvExit::HypervisorFault`]. It never hangs and never returns.

use core::fmt::{self, Write};

use shared_abi::exit::HvExit;

use super::exception;
use super::frame::TrapFrame;
use super::{cpu, qemu_exit, serial};

/// Writes straight to the serial port, taking over its lock.
struct FatalWriter;

impl Write for FatalWriter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        serial::write_forced(text.as_bytes());
        Ok(())
    }
}

/// Reports an exception taken by the hypervisor and stops.
pub fn exception(frame: &TrapFrame) -> ! {
    let cr2 = cpu::read_cr2();
    let vector = frame.scratch.vector as u8;
    let mut out = FatalWriter;
    let _ = writeln!(
        out,
        "hv: FATAL: {} (vector {}, error {:#x}) in the hypervisor at rip {:#x}",
        exception::name(vector),
        vector,
        frame.scratch.error_code,
        frame.scratch.rip
    );
    let _ = dump(&mut out, frame, cr2);
    qemu_exit::exit(HvExit::HypervisorFault)
}

/// Reports a panic and stops.
pub fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let _ = writeln!(FatalWriter, "hv: FATAL: panic: {info}");
    qemu_exit::exit(HvExit::HypervisorFault)
}

fn dump(out: &mut impl Write, frame: &TrapFrame, cr2: u64) -> fmt::Result {
    let f = frame.registers();
    let s = &frame.scratch;
    writeln!(
        out,
        "  rip={:#018x} cs={:#06x} rflags={:#010x}",
        s.rip, s.cs, s.rflags
    )?;
    writeln!(
        out,
        "  rsp={:#018x} ss={:#06x} cr2={:#018x} cr3={:#018x}",
        s.rsp,
        s.ss,
        cr2,
        cpu::read_cr3().as_u64()
    )?;
    writeln!(
        out,
        "  rax={:#018x} rbx={:#018x} rcx={:#018x} rdx={:#018x}",
        f.rax, f.rbx, f.rcx, f.rdx
    )?;
    writeln!(
        out,
        "  rsi={:#018x} rdi={:#018x} rbp={:#018x} r8 ={:#018x}",
        f.rsi, f.rdi, f.rbp, f.r8
    )?;
    writeln!(
        out,
        "  r9 ={:#018x} r10={:#018x} r11={:#018x} r12={:#018x}",
        f.r9, f.r10, f.r11, f.r12
    )?;
    writeln!(
        out,
        "  r13={:#018x} r14={:#018x} r15={:#018x}",
        f.r13, f.r14, f.r15
    )
}
