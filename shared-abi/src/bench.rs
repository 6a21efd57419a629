//! What the hypervisor offers benchmarks when started with `hv_bench`.
//!
//! With `hv_bench` on its command line, a ring 3 page fault on
//! [`FAULT_PROBE_ADDRESS`] (a supervisor-only address of the hypervisor's
//! own direct map) is answered by resuming the guest at the address in its
//! `rcx`, with no other work: the bare cost of a page fault taken by the
//! hypervisor on its own mapping, which the shadow-paging figures are
//! compared against. Without `hv_bench` such a fault is an ordinary one.

/// The address whose faults the bench probe answers.
pub const FAULT_PROBE_ADDRESS: u64 = 0xffff_8000_0000_0000;

/// With `hv_bench`, `syscall` with this number in `rax` returns at once with
/// `sysretq`, before any state is saved: the bare ring 3 to ring 0 to ring 3
/// round trip the null hypercall is compared with. Without `hv_bench` it is
/// an unknown hypercall.
pub const BARE_SYSCALL: u64 = 0x0bec_0000;
