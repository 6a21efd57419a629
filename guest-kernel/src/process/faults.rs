//! Exceptions: a fault in user mode kills the process (reported in one
//! line, the rest of the kernel untouched); in kernel mode a page fault
//! may be a demand-paged kernel page, anything else is a kernel bug that
//! ends the domain.

use core::fmt;
use core::sync::atomic::Ordering;

use shared_abi::guest::upcall::UpcallContext;
use shared_abi::guest::user;
use shared_abi::trap::{PAGE_FAULT, VECTORS};

use super::scheduler::end_current;
use super::table::{Fault, KERNEL_ROOT, Outcome, TABLE};
use super::{USER_BASE, USER_TOP};
use crate::memory::demand;
use crate::{hv, interrupts, println};

/// Vectors a guest cannot be given (NMI, double fault, machine check).
const NOT_REFLECTED: [u64; 3] = [2, 8, 18];

/// Installs the handler for every exception vector.
pub fn install() -> Result<(), shared_abi::Status> {
    for vector in (0..VECTORS).filter(|v| !NOT_REFLECTED.contains(v)) {
        user::set_trap_handler(vector, on_exception)?;
    }
    Ok(())
}

fn on_exception(context: *mut UpcallContext) -> *mut UpcallContext {
    // SAFETY: the stub passes the context it saved; nothing else refers to
    // it while the handler runs.
    let frame = unsafe { (*context).frame };
    let fault = Fault {
        vector: frame.vector,
        error_code: frame.error_code,
        address: frame.fault_address,
        rip: frame.rip,
    };
    interrupts::disable();
    if !frame.is_user() {
        let root = KERNEL_ROOT.load(Ordering::SeqCst);
        if frame.vector == PAGE_FAULT && demand::handle_in(&frame, root) {
            return context;
        }
        println!("kernel fault: {fault} (rsp {:#x})", frame.rsp);
        hv::shutdown(1);
    }
    let mut table = TABLE.lock();
    if let Some((pid, process)) = table.running() {
        println!("{}[{pid}]: killed: {fault}", process.name);
    }
    end_current(&mut table, context, Outcome::Killed(fault))
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.vector {
            0 => "divide error",
            1 => "debug trap",
            3 => "breakpoint",
            4 => "overflow",
            5 => "bound range exceeded",
            6 => "invalid opcode",
            7 => "device not available",
            13 => "general-protection fault",
            14 => "page fault",
            16 => "floating-point error",
            17 => "alignment check",
            19 => "SIMD floating-point error",
            _ => "exception",
        };
        if self.vector != PAGE_FAULT {
            if name == "exception" {
                write!(f, "exception {}", self.vector)?;
            } else {
                f.write_str(name)?;
            }
            if self.error_code != 0 {
                write!(f, " (error {:#x})", self.error_code)?;
            }
            return write!(f, " at rip {:#x}", self.rip);
        }
        let access = match self.error_code {
            code if code & 0x10 != 0 => "execute",
            code if code & 0x2 != 0 => "write",
            _ => "read",
        };
        let place = match self.address {
            address if !(USER_BASE..USER_TOP).contains(&address) => "kernel address",
            _ if self.error_code & 1 != 0 => "protection violation",
            _ => "not mapped",
        };
        write!(
            f,
            "page fault at {:#x} ({access}, {place}) at rip {:#x}",
            self.address, self.rip
        )
    }
}
