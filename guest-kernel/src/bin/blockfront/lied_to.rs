//! `mode=lied-to`: the frontend's defences against a backend that lies
//! (the driver's `lie=yes`, which answers reads at the sectors of
//! `driver_domain::lies` as no honest backend would). Each lie must end
//! the request with an error of the right kind within the timeout, never
//! wedge the frontend or pass for success, and a lie that breaks the ring
//! must drop the connection, after which the frontend connects again
//! without losing a frame to each old ring.

use guest_kernel::driver_domain::lies;
use shared_abi::guest::block_grant::TIMEOUT_NS;

use super::*;

/// Broken response indices told in a row (each followed by an honest
/// read on the new connection).
const BROKEN_RINGS: u32 = 20;
/// Old rings the frontend may still hold, lent to a backend that has not
/// unmapped them yet (its `LINGERING`).
const LINGERING: u64 = 4;

/// Reads one page at `sector` into `page`.
fn read(sector: u64, page: u64) -> Result<(), BlockError> {
    block::read(sector, page, BYTES)
}

/// An honest read works (on a new connection after a broken ring).
fn honest(page: u64, after: &str) {
    if let Err(e) = read(0, page) {
        scenario::fail(format_args!("an honest read after {after}: {e:?}"));
    }
}

/// Runs every case, then ends the domain.
pub fn run() -> ! {
    let (page, _) = scenario::page();
    honest(page, "connecting");
    for (sector, status) in [
        (lies::STATUS_MAX, "u32::MAX"),
        (lies::STATUS_MAX_LESS_ONE, "u32::MAX - 1"),
    ] {
        match read(sector, page) {
            Err(BlockError::Status(0xfe)) => {
                println!(
                    "a response status of {status} failed the read as the backend's status 254"
                )
            }
            other => scenario::fail(format_args!("status {status} read as {other:?}")),
        }
    }
    let start = interrupts::now_ns();
    match read(lies::FORGED_ID, page) {
        Err(BlockError::Timeout) => {
            let waited = interrupts::now_ns() - start;
            check!(
                (TIMEOUT_NS..=TIMEOUT_NS + SLACK_NS).contains(&waited),
                "the unanswered read timed out after {} ms",
                waited / 1_000_000
            );
            println!(
                "a response with a forged id was ignored; the read timed out within the timeout"
            );
        }
        other => scenario::fail(format_args!("a forged response id read as {other:?}")),
    }
    honest(page, "a forged id");
    let frames_before = frames::in_use();
    let connections_before = block_grant::connections();
    for round in 0..BROKEN_RINGS {
        let sector = match round % 2 {
            0 => lies::RESPONSES_AHEAD,
            _ => lies::RESPONSES_BACK,
        };
        match read(sector, page) {
            Err(BlockError::Disconnected) => {}
            other => scenario::fail(format_args!(
                "a broken response index (sector {sector}) read as {other:?}"
            )),
        }
        honest(page, "a broken response index");
    }
    let connections = block_grant::connections() - connections_before;
    check!(
        connections == BROKEN_RINGS,
        "{connections} connections after {BROKEN_RINGS} broken rings"
    );
    let held = frames::in_use().saturating_sub(frames_before);
    check!(
        held <= LINGERING,
        "{held} frames lost to {BROKEN_RINGS} old rings"
    );
    println!(
        "{BROKEN_RINGS} broken response indices each dropped the connection; reconnected every time, old rings let go"
    );
    check!(block::close().is_ok(), "close");
    scenario::done()
}
