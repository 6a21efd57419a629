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
            .check(several_requests_in_flight)
            .finishes("blk1")
            .finishes("blk2")
            .finishes("bystander")
            .finishes("driver"),
        Scenario::new("driver-block-fs", HvExit::Success)
            .driver("driver", "driver", "serve=console+block clients=1")
            .guest("alpha", "guest-kernel", "")
            .ext2_disk()
            .input(b"\x012ls\nls /docs\ncat /hello.txt\nsum /docs/numbers.txt\ncat /missing\n")
            .exact("[driver] frontend 2 connected: 8192 sectors at sector 8192")
            .exact("[alpha] disk: 8192 sectors, ext2 filesystem mounted")
            .exact("[alpha] docs/")
            .exact("[alpha] hello.txt")
            .exact("[alpha] numbers.txt")
            .exact("[alpha] Hello from the guest's disk!")
            .exact("[alpha] /missing: file not found")
            .check(crate::log_checks::checksum_matches_the_repository_file)
            .line("'alpha' shut down with code 0")
            .finishes("driver"),
        Scenario::new("driver-block-hostile", HvExit::Success)
            .driver("driver", "driver", "serve=block clients=2")
            .guest("hostile", "blockfront", "mode=hostile")
            .guest("good", "block-test", "")
            .disk(16)
            .exact("[hostile] corrupted the ring: request producer far ahead")
            .exact("[driver] frontend 2 disconnected: the request producer moved further than the ring holds")
            .exact("[hostile] corrupted the ring: forged grant reference")
            .exact("[hostile] corrupted the ring: stale grant reference")
            .exact("[driver] frontend 2 disconnected: a grant reference that does not work")
            .exact("[hostile] corrupted the ring: sectors outside the region")
            .exact("[driver] frontend 2 disconnected: a sector range outside its region")
            .exact("[hostile] corrupted the ring: unknown operation")
            .exact("[driver] frontend 2 disconnected: an unknown operation")
            .exact("[hostile] corrupted the ring: segment past its page")
            .exact("[driver] frontend 2 disconnected: a segment past its page")
            .exact("[hostile] every corruption refused; still running")
            .exact("[hostile] connected 100 times with one ring; each taken")
            .exact("[good] first and last sectors written, flushed and read back")
            .forbid("frontend 3 disconnected")
            .check(two_reference_refusals)
            .check(bookkeeping_bounded)
            .finishes("good")
            .finishes("hostile")
            .finishes("driver"),
        // A frontend that keeps its ring full by hand, always a request of
        // its own waiting for the device, cannot keep the other frontend
        // (writes, a flush, reads) from the disk.
        Scenario::new("driver-block-fair", HvExit::Success)
            .driver("driver", "driver", "serve=block clients=2")
            .guest("hog", "blockfront", "mode=hog")
            .guest("good", "block-test", "")
            .disk(16)
            .line("[hog] kept its ring full for 4 s")
            .exact("[good] first and last sectors written, flushed and read back")
            .finishes("good")
            .finishes("hog")
            .finishes("driver"),
        // A backend that lies to its frontend: statuses no device gives, a
        // response to a request never made, response indices past the
        // requests and behind the responses. Each lie fails the request
        // with the right error in time; a broken ring drops the
        // connection and the frontend connects again, without losing a
        // frame to each old ring; a bystander runs throughout.
        Scenario::new("driver-lying-backend", HvExit::Success)
            .driver("driver", "driver", "serve=block clients=1 lie=yes")
            .guest("front", "blockfront", "mode=lied-to")
            .guest("bystander", "worker", "lines=30")
            .disk(16)
            .exact("[front] a response status of u32::MAX failed the read as the backend's status 254")
            .exact("[front] a response status of u32::MAX - 1 failed the read as the backend's status 254")
            .exact("[front] a response with a forged id was ignored; the read timed out within the timeout")
            .exact("[front] 20 broken response indices each dropped the connection; reconnected every time, old rings let go")
            .finishes("front")
            .finishes("bystander")
            .finishes("driver"),
        stopped_mid_io(
            "driver-crash-mid-io",
            "crash_after=24",
            "[driver] crashing with requests in flight",
        )
        .stopped("driver", "invalid opcode"),
        stopped_mid_io(
            "driver-hang-mid-io",
            "hang_after=24",
            "[driver] hanging with requests in flight",
        )
        .exact("hv: warning: domain 1 'driver' stopped: watchdog expired (no watchdog call for 2000 ms)"),
    ]
}

/// The forged and the stale reference are each refused.
fn two_reference_refusals(output: &str) -> Result<(), String> {
    let count = output
        .matches("frontend 2 disconnected: a grant reference that does not work")
        .count();
    match count {
        2 => Ok(()),
        n => Err(format!("{n} reference refusals, expected 2")),
    }
}

/// The backend's closing line, `[driver] served N requests, up to M on
/// the device at once, K frontend entries`: (N, M, K).
fn closing_line(output: &str) -> Result<(u64, u64, u64), String> {
    output
        .lines()
        .find_map(|line| {
            let rest = line.split_once("[driver] served ")?.1;
            let (served, rest) = rest.split_once(" requests, up to ")?;
            let (most, rest) = rest.split_once(" on the device at once, ")?;
            let entries = rest.strip_suffix(" frontend entries")?;
            Some((
                served.parse().ok()?,
                most.parse().ok()?,
                entries.parse().ok()?,
            ))
        })
        .ok_or_else(|| "no closing line from the backend".to_string())
}

/// The backend's list of frontends stayed small through the reconnection
/// storm: the live ones and at most `TAGS` (4) dropped ones.
fn bookkeeping_bounded(output: &str) -> Result<(), String> {
    match closing_line(output)?.2 {
        0..=6 => Ok(()),
        n => Err(format!("{n} frontend entries after the reconnection storm")),
    }
}

/// The frontends had requests in flight when the driver domain went: some
/// failed (each frontend prints how many, `(N failed, R rounds)`).
fn requests_failed_mid_io(output: &str) -> Result<(), String> {
    let failed: u64 = output
        .lines()
        .filter(|line| line.contains("] reconnected; every request"))
        .filter_map(|line| {
            line.rsplit_once(" (")?
                .1
                .split_once(" failed")?
                .0
                .parse::<u64>()
                .ok()
        })
        .sum();
    match failed {
        0 => Err("no request failed: the driver domain did not go mid-I/O".into()),
        _ => Ok(()),
    }
}

/// The backend kept more than one request on the device at once.
fn several_requests_in_flight(output: &str) -> Result<(), String> {
    match closing_line(output)?.1 {
        most @ (0 | 1) => Err(format!("at most {most} request on the device at once")),
        _ => Ok(()),
    }
}

/// A driver domain serving two frontends that is stopped (`stop`: how, as
/// its argument; `announced`: the line it prints first) with requests in
/// flight: their requests fail or complete within the timeout, it is
/// restarted, the frontends reconnect and read back what they flushed
/// before, and a bystander runs throughout.
fn stopped_mid_io(name: &'static str, stop: &str, announced: &str) -> Scenario {
    Scenario::new(name, HvExit::Success)
        .driver("driver", "driver", &format!("serve=block clients=2 {stop}"))
        .guest("fe1", "blockfront", "")
        .guest("fe2", "blockfront", "")
        .guest("bystander", "worker", "lines=200")
        .disk(16)
        .exact(announced)
        .check(requests_failed_mid_io)
        .exact("hv: warning: domain 1 'driver' restarted (restart 1 of 3)")
        .exact("[driver] serving the block backend (run 2)")
        .line("[fe1] reconnected; every request completed or failed within the timeout")
        .line("[fe2] reconnected; every request completed or failed within the timeout")
        .exact("[fe1] the pattern flushed before the restart read back intact")
        .exact("[fe2] the pattern flushed before the restart read back intact")
        .finishes("fe1")
        .finishes("fe2")
        .finishes("bystander")
        .finishes("driver")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backends_closing_line_is_read() {
        let log = "[good] done\n[driver] served 180 requests, up to 4 on the device at once, 3 frontend entries\n";
        assert_eq!(closing_line(log), Ok((180, 4, 3)));
        assert!(bookkeeping_bounded(log).is_ok());
        assert!(several_requests_in_flight(log).is_ok());
        let grown =
            "[driver] served 9 requests, up to 1 on the device at once, 108 frontend entries";
        assert!(bookkeeping_bounded(grown).is_err());
        assert!(several_requests_in_flight(grown).is_err());
        assert!(closing_line("[driver] served 9 requests").is_err());
    }
}
