//! The guest-user scenarios: the default guest kernel's shell runs user
//! programs from its disk's `/bin` as processes, next to a bystander
//! domain: a greeting through the split console, hostile programs each
//! killed alone with one line from the kernel, isolation between
//! processes, a fair share of the CPU among spinners, wild pointers to
//! every system call, a spawn storm and memory exhaustion.

use shared_abi::exit::HvExit;

use crate::scenario::Scenario;

/// A shell session on the default guest kernel `alpha` (with an ext2 disk
/// holding `/bin`) typing `script`, next to a bystander that must finish.
fn session(name: &'static str, script: &str) -> Scenario {
    let mut input = script.as_bytes().to_vec();
    input.extend_from_slice(b"echo still serving\nshutdown\n");
    Scenario::new(name, HvExit::Success)
        .guest("alpha", "guest-kernel", "")
        .guest("bystander", "worker", "lines=20")
        .ext2_disk()
        .input(&input)
        .exact("[alpha] still serving")
        .exact("[alpha] bye")
        .exact("hv: domain 1 'alpha' shut down with code 0")
        .finishes("bystander")
        .forbid("panic")
        .forbid("kernel fault")
}

/// The guest-user scenarios, in the order they run.
pub fn all() -> Vec<Scenario> {
    vec![
        session("user-hello", "/bin/hello a b\nls /bin\nhello again\n")
            .exact("[alpha] Hello from user space! I am process 1.")
            .exact("[alpha] argv[0] = /bin/hello")
            .exact("[alpha] argv[1] = a")
            .exact("[alpha] argv[2] = b")
            .exact("[alpha] exit status 0")
            .exact("[alpha] hello")
            .exact("[alpha] spin")
            .exact("[alpha] argv[1] = again"),
    ]
}
