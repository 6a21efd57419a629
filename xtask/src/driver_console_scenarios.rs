//! Scenarios of the console served from the driver domain (`driver
//! serve=console`): every domain connects its console ring to it, the
//! hypervisor feeds it the early console, its own lines and the keys, and
//! the driver domain runs the terminal on COM1. What a boot without it
//! still shows, and what happens when the server crashes or hangs.

use shared_abi::exit::HvExit;

use crate::scenario::Scenario;

pub fn all() -> Vec<Scenario> {
    vec![
        // The server's calls refuse bad arguments without losing a line;
        // it reads the keys from COM1; the list of domains comes back
        // through the feed. (Every other
        // console scenario runs with the driver domain serving the console
        // too: `cargo xtask` adds it to every boot.)
        Scenario::new("driver-console", HvExit::Success)
            .guest("alpha", "guest-kernel", "")
            .driver("driver", "driver", "serve=console console_checks=yes")
            // Typed once the shell is up: the driver domain reads the keys
            // from the UART.
            .input(b"echo uno-dos-tres-cuatro-cinco-seis-siete-ocho\n\x01l")
            .input_after("[alpha] shell ready")
            .exact("[driver] first key read from COM1")
            .exact("hv: directory: domain 2 serves as the Console backend")
            .exact("[driver] console_read(4-byte buffer): BUFFER_TOO_SMALL")
            .exact("[driver] console_read(hypervisor's half): BAD_ADDRESS")
            .exact("[driver] console_input(retired): UNKNOWN_HYPERCALL")
            .exact("[driver] console_command(99): INVALID_ARGUMENT")
            .exact("[driver] domain_name(0): INVALID_ARGUMENT")
            .exact("[driver] serving the console")
            .line("hv: * 1 alpha ")
            .line("hv:   2 driver ")
            .exact("[alpha] uno-dos-tres-cuatro-cinco-seis-siete-ocho")
            .line("[alpha] end of input: shutting down")
            .line("'alpha' shut down with code 0"),
        // Without a driver domain the hypervisor shows the early console
        // itself, lines kept apart, and its escape keys work; nobody has
        // console input (a shell sees its end at once).
        Scenario::new("console-in-hypervisor", HvExit::Success)
            .guest("alpha", "guest-kernel", "")
            .guest("w1", "worker", "lines=30")
            .guest("w2", "worker", "lines=30")
            .no_driver()
            .input(b"\x013")
            .exact("hv: console input goes to domain 3 'w2'")
            .line("[alpha] end of input: shutting down")
            .check(|log| every_line_in_order(log, "w1", 30))
            .check(|log| every_line_in_order(log, "w2", 30))
            .forbid("serves as the Console backend")
            .finishes("w1")
            .finishes("w2"),
        // The server crashes while showing the others' lines: the
        // hypervisor shows what it had not, restarts it, and it serves
        // again; every line arrives, in order (the one being shown at the
        // crash may arrive twice).
        server_fails("driver-console-crash", "crash_console_after=40")
            .stopped("driver", "invalid opcode"),
        // The server hangs with records to show: its watchdog expires, the
        // hypervisor shows what it had not and restarts it, and the new run
        // serves again; every line arrives, in order.
        server_fails("driver-console-hang", "hang_console_after=40")
            .exact("[driver] hanging with records to show")
            .exact("hv: warning: domain 3 'driver' stopped: watchdog expired (no watchdog call for 2000 ms)"),
    ]
}

/// Two shells, input typed for the first, then `Ctrl-A 2` and input for the
/// second: each gets only its own (the driver domain runs the terminal
/// unless the scenario leaves it out).
pub fn console_focus(name: &'static str) -> Scenario {
    Scenario::new(name, HvExit::Success)
        .guest("alpha", "guest-kernel", "")
        .guest("beta", "guest-kernel", "")
        .input(b"echo uno\n\x012echo dos\n")
        .exact("hv: console input goes to domain 2 'beta'")
        .exact("[alpha] uno")
        .exact("[beta] dos")
        .forbid("[alpha] dos")
        .forbid("[beta] uno")
        .line("[alpha] end of input: shutting down")
        .line("[beta] end of input: shutting down")
        .line("'alpha' shut down with code 0")
        .line("'beta' shut down with code 0")
}

/// Two workers print while the console server fails as `fault` says: it is
/// restarted and serves again, and every line arrives in order.
fn server_fails(name: &'static str, fault: &str) -> Scenario {
    Scenario::new(name, HvExit::Success)
        .guest("w1", "worker", "lines=60")
        .guest("w2", "worker", "lines=60")
        .driver("driver", "driver", &format!("serve=console {fault}"))
        .exact("hv: warning: domain 3 'driver' restarted (restart 1 of 3)")
        .check(served_twice)
        .check(|log| every_line_in_order(log, "w1", 60))
        .check(|log| every_line_in_order(log, "w2", 60))
        .finishes("w1")
        .finishes("w2")
}

/// The console was offered by both runs of the driver domain.
fn served_twice(log: &str) -> Result<(), String> {
    let offers = log
        .lines()
        .filter(|l| *l == "hv: directory: domain 3 serves as the Console backend")
        .count();
    match offers {
        2 => Ok(()),
        n => Err(format!("the console was offered {n} times, expected 2")),
    }
}

/// `[name] line i/count` for every i, in order; a line may repeat
/// (shown again after the server's crash) but not come back after a later
/// one.
fn every_line_in_order(log: &str, name: &str, count: u32) -> Result<(), String> {
    let prefix = format!("[{name}] line ");
    let mut next = 1;
    for line in log.lines().filter_map(|l| l.strip_prefix(&prefix)) {
        let number: u32 = line
            .split('/')
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("unreadable line `{prefix}{line}`"))?;
        match number {
            n if n == next => next += 1,
            n if n + 1 == next => {}
            n => return Err(format!("{prefix}{n} came where {next} was due")),
        }
    }
    match next == count + 1 {
        true => Ok(()),
        false => Err(format!("{name}'s lines stop before {next}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_may_repeat_but_not_go_missing_or_back() {
        let good = "[a] line 1/3\n[b] x\n[a] line 2/3\n[a] line 2/3\n[a] line 3/3\n";
        assert_eq!(every_line_in_order(good, "a", 3), Ok(()));
        let missing = "[a] line 1/3\n[a] line 3/3\n";
        assert!(every_line_in_order(missing, "a", 3).is_err());
        let back = "[a] line 1/3\n[a] line 2/3\n[a] line 3/3\n[a] line 1/3\n";
        assert!(every_line_in_order(back, "a", 3).is_err());
        assert!(every_line_in_order("[a] line 1/3\n", "a", 3).is_err());
    }
}
