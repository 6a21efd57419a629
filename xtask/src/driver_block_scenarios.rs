//! The scenarios of the block backend in the driver domain: frontends
//! reach the disk only through grants, a ring in a granted page and event
//! channels; hostile frontends are disconnected, and a crashing or hung
//! driver domain is restarted while its frontends fail or complete their
//! requests in time, reconnect and finish.

use shared_abi::exit::HvExit;

use crate::scenario::Scenario;

/// Every scenario of the block backend in the driver domain.
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario::new("driver-block", HvExit::Success)
            .driver("driver", "driver", "serve=block clients=2")
            .guest("blk1", "block-test", "")
            .guest("blk2", "block-test", "")
            .guest("bystander", "worker", "lines=30")
            .disk(16)
            .exact("[driver] serving the block backend (run 1)")
            .exact("[driver] frontend 2 connected: 8192 sectors at sector 8192")
            .exact("[driver] frontend 3 connected: 8192 sectors at sector 16384")
            .exact("[blk1] virtual disk: 8192 sectors")
            .exact("[blk1] first and last sectors written, flushed and read back")
            .exact("[blk2] first and last sectors written, flushed and read back")
            .exact("[blk1] requests outside the virtual disk fail with an I/O error")
            .exact("[blk2] 5 requests in flight at once completed")
            .exact("[blk1] 12 sectors written and read back as byte buffers")
            .exact("[blk1] device id pvhv-disk-2")
            .exact("[blk2] device id pvhv-disk-3")
            .exact("[driver] every frontend has gone")
            .finishes("blk1")
            .finishes("blk2")
            .finishes("bystander")
            .finishes("driver"),
    ]
}
