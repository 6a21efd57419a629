//! The exception calls: `set_trap_handler(vector, handler)` and `iret()`,
//! served by [`crate::domain::trap_delivery`] (which also enters the
//! handlers), and the guest-user mode registrations `set_kernel_stack` and
//! `set_syscall_entry` ([`crate::domain::privilege`]).

use shared_abi::Status;
use shared_abi::hypercall::request::{Iret, SetKernelStack, SetSyscallEntry, SetTrapHandler};

use crate::domain::vcpu::Context;
use crate::domain::{Domain, trap_delivery};

/// Registers `handler` for `vector` (0 removes it).
pub(super) fn set_handler(
    domain: &mut Domain,
    SetTrapHandler { vector, handler }: SetTrapHandler,
) -> Result<(), Status> {
    trap_delivery::set_handler(domain, vector, handler)
}

/// Returns from a handler: `context` resumes from the frame at its `rsp`
/// and the call returns the frame's `rax`. Also served on the fast path.
#[inline(always)]
pub(crate) fn iret(
    domain: &mut Domain,
    _: Iret,
    context: &mut impl Context,
) -> Result<u64, Status> {
    trap_delivery::iret(domain, context)
}

/// Registers the stack a trap from guest-user mode enters the guest kernel on.
pub(super) fn set_kernel_stack(
    domain: &mut Domain,
    SetKernelStack { top }: SetKernelStack,
) -> Result<(), Status> {
    domain.privilege_mut().set_kernel_stack(top)
}

/// Registers the guest kernel's system-call entry.
pub(super) fn set_syscall_entry(
    domain: &mut Domain,
    SetSyscallEntry { handler }: SetSyscallEntry,
) -> Result<(), Status> {
    domain.privilege_mut().set_syscall_entry(handler)
}
