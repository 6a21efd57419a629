//! The block-device calls that remain in the hypervisor: `block_info()`
//! reports the domain's region of the disk (which the driver domain's
//! backend serves); `block_queue_setup`, which registered a queue with a
//! block backend in the hypervisor, is retired (ABI 2.0).

use shared_abi::Status;
use shared_abi::hypercall::request::{BlockInfo, BlockQueueSetup};

use crate::domain::Domain;

/// The sectors of the domain's disk region (0: none).
pub(super) fn info(domain: &mut Domain, _: BlockInfo) -> Result<u64, Status> {
    Ok(domain.disk().sectors)
}

/// Retired: answers `UNKNOWN_HYPERCALL`, as a number no call has would.
pub(super) fn queue_setup(_: &mut Domain, _: BlockQueueSetup) -> Result<(), Status> {
    Err(Status::UnknownHypercall)
}
