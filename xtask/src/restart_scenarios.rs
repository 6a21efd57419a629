//! The scenarios of restarts and the watchdog: a restartable domain that
//! crashes is booted again (and learns how many runs came before), one
//! that hangs, spinning or asleep, is stopped by its watchdog and booted
//! again, one that keeps failing is given up after its restarts, and a
//! domain without `restart` is never restarted. A bystander keeps running
//! throughout each.

use shared_abi::exit::HvExit;

use crate::scenario::Scenario;

/// Every restart scenario.
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario::new("restart-after-crash", HvExit::Success)
            .guest("phoenix", "restart-test", "mode=crash until=2")
            .restart()
            .guest("bystander", "worker", "lines=30")
            .line("[phoenix] run 1 (restarts 0)")
            .stopped("phoenix", "page fault at 0xdead0000 (read of an unmapped page)")
            .exact("hv: warning: domain 1 'phoenix' restarted (restart 1 of 3)")
            .line("[phoenix] run 2 (restarts 1)")
            .exact("hv: warning: domain 1 'phoenix' restarted (restart 2 of 3)")
            .line("[phoenix] recovered after 2 restarts")
            .finishes("phoenix")
            .finishes("bystander"),
        Scenario::new("restart-watchdog", HvExit::Success)
            .guest("spinner", "restart-test", "mode=spin")
            .restart()
            .guest("sleeper", "restart-test", "mode=sleep")
            .restart()
            .guest("bystander", "worker", "lines=30")
            .line("[spinner] fed the watchdog 5 times; now hanging (spin)")
            .exact("hv: warning: domain 1 'spinner' stopped: watchdog expired (no watchdog call for 100 ms)")
            .exact("hv: warning: domain 1 'spinner' restarted (restart 1 of 3)")
            .line("[spinner] recovered after 1 restarts")
            .line("[sleeper] fed the watchdog 5 times; now hanging (sleep)")
            .exact("hv: warning: domain 2 'sleeper' stopped: watchdog expired (no watchdog call for 100 ms)")
            .exact("hv: warning: domain 2 'sleeper' restarted (restart 1 of 3)")
            .line("[sleeper] recovered after 1 restarts")
            .finishes("spinner")
            .finishes("sleeper")
            .finishes("bystander"),
        Scenario::new("restart-limit", HvExit::DomainFailed)
            .guest("doomed", "restart-test", "mode=crash until=99")
            .restart()
            .guest("bystander", "worker", "lines=30")
            .exact("hv: warning: domain 1 'doomed' restarted (restart 3 of 3)")
            .line("[doomed] run 4 (restarts 3)")
            .exact("hv: warning: domain 1 'doomed' stopped again after 3 restarts; not restarting it")
            .forbid("[doomed] run 5")
            .finishes("bystander"),
        Scenario::new("restart-only-when-asked", HvExit::DomainFailed)
            .guest("crasher", "restart-test", "mode=crash")
            .guest("hanger", "restart-test", "mode=spin")
            .guest("bystander", "worker", "lines=30")
            .stopped("crasher", "page fault at 0xdead0000 (read of an unmapped page)")
            .exact("hv: warning: domain 2 'hanger' stopped: watchdog expired (no watchdog call for 100 ms)")
            .forbid("restarted")
            .forbid("(restarts 1)")
            .finishes("bystander"),
    ]
}
