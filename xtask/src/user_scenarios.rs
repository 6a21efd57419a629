//! The guest-user scenarios: the default guest kernel's shell runs user
//! programs from its disk's `/bin` as processes, next to a bystander
//! domain: a greeting through the split console, hostile programs each
//! killed alone with one line from the kernel, isolation between
//! processes, a fair share of the CPU among spinners, wild pointers to
//! every system call, a spawn storm and memory exhaustion. After each
//! script the shell must still answer, and the bystander must finish.

use std::time::Duration;

use shared_abi::exit::HvExit;

use crate::scenario::Scenario;

/// Spinners of `user-fair-share`.
const SPINNERS: usize = 16;
/// How long they spin together (virtual milliseconds): about 20 ticks each.
const SPIN_MS: u64 = 3200;

/// A shell session on the default guest kernel `alpha` (with an ext2 disk
/// holding `/bin`) typing `script`, then checking that it still serves.
fn session(name: &'static str, script: &str) -> Scenario {
    let mut input = script.as_bytes().to_vec();
    input.extend_from_slice(b"echo still serving\nshutdown\n");
    Scenario::new(name, HvExit::Success)
        .guest("alpha", "guest-kernel", "")
        .ext2_disk()
        .input(&input)
        .exact("[alpha] still serving")
        .exact("[alpha] bye")
        .exact("hv: domain 1 'alpha' shut down with code 0")
        .forbid("panic")
        .forbid("kernel fault")
}

/// [`session`] with a bystander domain that must finish meanwhile.
fn beside_bystander(name: &'static str, script: &str) -> Scenario {
    session(name, script)
        .guest("bystander", "worker", "lines=20")
        .finishes("bystander")
}

/// The guest-user scenarios, in the order they run.
pub fn all() -> Vec<Scenario> {
    vec![
        beside_bystander(
            "user-hello",
            "/bin/hello a b\nhello again\n/bin/ls /bin\n/bin/cat /hello.txt\n/bin/echo one two\nexit 42\n\
             /bin/cat\ntyped for cat\n.\nsleep 30\n",
        )
        .exact("[alpha] Hello from user space! I am process 1.")
        .exact("[alpha] argv[0] = /bin/hello")
        .exact("[alpha] argv[1] = a")
        .exact("[alpha] argv[2] = b")
        .exact("[alpha] argv[1] = again")
        .exact("[alpha] exit status 0")
        .exact("[alpha] hello")
        .exact("[alpha] wild")
        .exact("[alpha] Hello from the guest's disk!")
        .exact("[alpha] one two")
        .exact("[alpha] exit status 42")
        .exact("[alpha] typed for cat")
        .line("[alpha] sleep: asked for 30 ms, slept ")
        .line("ms: at least that long"),
        beside_bystander(
            "user-kernel-memory",
            "peek\npoke\njump\npeek 0x200000000000\npoke 0x3ffff000\n/bin/hello\n",
        )
        .line("[alpha] peek[1]: killed: page fault at 0x200000 (read, kernel address) at rip 0x4")
        .line("[alpha] poke[2]: killed: page fault at 0x200000 (write, kernel address) at rip 0x4")
        .line("[alpha] jump[3]: killed: page fault at 0x200000 (execute, kernel address) at rip 0x200000")
        .line("[alpha] peek[4]: killed: page fault at 0x200000000000 (read, kernel address)")
        .line("[alpha] poke[5]: killed: page fault at 0x3ffff000 (write, kernel address)")
        .exact("[alpha] Hello from user space! I am process 6.")
        .forbid("the kernel is exposed"),
        beside_bystander(
            "user-privileged",
            "privileged cli\nprivileged hlt\nprivileged cr3\nprivileged out\nprivileged in\nprivileged int3\nprivileged ud2\n",
        )
        .line("[alpha] privileged[1]: killed: general-protection fault at rip 0x4")
        .line("[alpha] privileged[2]: killed: general-protection fault at rip 0x4")
        .line("[alpha] privileged[3]: killed: general-protection fault at rip 0x4")
        .line("[alpha] privileged[4]: killed: general-protection fault at rip 0x4")
        .line("[alpha] privileged[5]: killed: general-protection fault at rip 0x4")
        .line("[alpha] privileged[6]: killed: breakpoint at rip 0x4")
        .line("[alpha] privileged[7]: killed: invalid opcode at rip 0x4")
        .forbid("ran in user mode"),
        beside_bystander("user-hypercall-numbers", "hypercalls\n")
            .exact("[alpha] hypercalls: 260 numbers were unknown system calls, 0 were not")
            .exact("[alpha] exit status 0"),
        beside_bystander("user-wild-pointers", "wild\n")
            .exact("[alpha] wild: 113 calls with wild pointers, 103 refused with a bad address, 0 accepted")
            .exact("[alpha] exit status 0"),
        beside_bystander(
            "user-files",
            "/bin/write /notes hello files\n/bin/cat /notes\n/bin/write -a /notes and more\n\
             /bin/cat /notes\n/bin/mkdir /box\n/bin/write /box/inner inside\n/bin/ls /box\n\
             /bin/rm /notes\n/bin/cat /notes\n/bin/mkdir /box\n/bin/write /hello.txt/x y\n\
             /bin/held /held\n/bin/cat /held\n",
        )
        .exact("[alpha] hello files")
        .exact("[alpha] and more")
        .exact("[alpha] inner")
        .exact("[alpha] cat: /notes: not found")
        .exact("[alpha] mkdir: /box: already exists")
        .exact("[alpha] write: /hello.txt/x: not a directory")
        .exact("[alpha] held: unlink while open: file is open")
        .exact("[alpha] held: unlink after close: removed")
        .exact("[alpha] cat: /held: not found"),
        beside_bystander("user-isolation", "isolation\n")
            .line("[alpha] isolation: child 2 read 0x0 at 0x")
            .exact("[alpha] isolation: child status Ok(0), parent's secret intact: true: isolated")
            .exact("[alpha] exit status 0"),
        beside_bystander("user-spawn-storm", "storm 3\n/bin/hello\n")
            .exact("[alpha] storm: round 0: 31 children until limit reached, 31 exited with 7")
            .exact("[alpha] storm: round 1: 31 children until limit reached, 31 exited with 7")
            .exact("[alpha] storm: round 2: 31 children until limit reached, 31 exited with 7")
            .line("[alpha] Hello from user space! I am process "),
        // `on-stack` is `hello` with a segment moved onto the stack: refused
        // (a segment there, or a heap grown past it, would reach the
        // kernel's own stack above user space).
        beside_bystander("user-memory-exhaustion", "hog\nhog\n/bin/on-stack\n/bin/hello\n")
            .line("[alpha] hog: the kernel refused more memory after ")
            .exact("[alpha] hog: a break at the top of memory: Some(\"invalid argument\")")
            .exact("[alpha] /bin/on-stack: not an executable")
            .exact("[alpha] Hello from user space! I am process 3."),
        // The kernel's own paths, in instructions: the figures the README
        // quotes next to the bench's minimal ones.
        session("user-figures", "syscost 1000\n")
            .line("[alpha] syscost getpid ")
            .line("[alpha] syscost process_switch ")
            .exact("[alpha] exit status 0")
            .instruction_clock(0)
            .timeout(Duration::from_secs(120)),
        session(
            "user-fair-share",
            &format!("share {SPINNERS} {SPIN_MS}\n"),
        )
        .exact(&format!("[alpha] share: {SPINNERS} spinners finished"))
        .check(spinners_share_fairly)
        .instruction_clock(2)
        .timeout(Duration::from_secs(180)),
    ]
}

/// Every spinner of `user-fair-share` counted within 10% of their mean.
fn spinners_share_fairly(log: &str) -> Result<(), String> {
    let counts: Vec<u64> = log
        .lines()
        .filter_map(|line| line.strip_prefix("[alpha] spin "))
        .filter_map(|rest| {
            rest.split_once(": ")?
                .1
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    if counts.len() != SPINNERS {
        return Err(format!(
            "{} spinners reported, not {SPINNERS}",
            counts.len()
        ));
    }
    let mean = counts.iter().sum::<u64>() / SPINNERS as u64;
    let (low, high) = (mean * 9 / 10, mean * 11 / 10);
    match counts.iter().all(|count| (low..=high).contains(count)) {
        true => Ok(()),
        false => Err(format!("counts {counts:?} not all within {low}..={high}")),
    }
}
