//! The exception calls: `set_trap_handler(vector, handler)` and `iret()`,
//! served by [`crate::domain::trap_delivery`] (which also enters the
//! handlers).

use shared_abi::Status;
use shared_abi::hypercall::request::{Iret, SetTrapHandler};

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
