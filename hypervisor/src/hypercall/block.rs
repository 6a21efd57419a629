//! The block-device calls: `block_info()` and
//! `block_queue_setup(descriptors, available, used, size)`, served by the
//! block backend ([`crate::devices::block::backend`]).

use shared_abi::Status;
use shared_abi::hypercall::request::{BlockInfo, BlockQueueSetup};

use crate::devices::block::backend;
use crate::domain::Domain;

/// The sectors of the domain's virtual disk (0: none).
pub(super) fn info(domain: &mut Domain, _: BlockInfo) -> Result<u64, Status> {
    Ok(domain.disk().sectors)
}

/// Registers the domain's block virtqueue.
pub(super) fn queue_setup(domain: &mut Domain, request: BlockQueueSetup) -> Result<(), Status> {
    let BlockQueueSetup {
        descriptors,
        available,
        used,
        size,
    } = request;
    backend::setup(domain, descriptors, available, used, size)
}
