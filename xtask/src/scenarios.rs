//! The QEMU scenarios `cargo xtask test` runs: which guests boot, with what
//! hypervisor command line, and what the serial log and exit status must show.
//!
//! [`all`] is the table. Each guest binary checks its own expectations and
//! prints `[<name>] done` before shutting down with code 0, or
//! `[<name>] FAIL: ...` and code 1; every scenario therefore forbids `FAIL`.

use std::time::Duration;

use shared_abi::exit::HvExit;

use crate::elf_corrupt::Corruption;
use crate::expect::LineMatch;
use crate::log_checks::{
    FAIR_SHARE_DOMAINS, HOG_SHARE_SPINNERS, checksum_matches_the_repository_file,
    each_corruption_reported_once, every_share_is_fair, patterns_are_on_disk_in_separate_regions,
    persisted_pattern_is_in_the_image, printed_data_is_intact, the_console_hog_pays_for_its_output,
    ticks_match_the_sleep, uptime_is_plausible,
};
use crate::new_guest;
use crate::scenario::Scenario;

/// Instruction classes the `privileged` guest knows how to execute, and the
/// cause the hypervisor's report must give each. `xsetbv` is an invalid
/// opcode while CR4.OSXSAVE is clear; the descriptor-table stores fault
/// because CR4.UMIP is set; `ac-then-hlt` runs with RFLAGS.AC set across
/// timer preemptions before its `hlt`.
const PRIVILEGED_CLASSES: [(&str, &str); 20] = [
    (
        "cli",
        "general protection fault (privileged instruction cli)",
    ),
    (
        "sti",
        "general protection fault (privileged instruction sti)",
    ),
    (
        "hlt",
        "general protection fault (privileged instruction hlt)",
    ),
    (
        "mov-cr3",
        "general protection fault (privileged instruction mov to cr3)",
    ),
    (
        "mov-cr0",
        "general protection fault (privileged instruction mov to cr0)",
    ),
    ("in", "general protection fault (privileged instruction in)"),
    (
        "out",
        "general protection fault (privileged instruction out)",
    ),
    (
        "rdmsr",
        "general protection fault (privileged instruction rdmsr)",
    ),
    (
        "wrmsr",
        "general protection fault (privileged instruction wrmsr)",
    ),
    (
        "lgdt",
        "general protection fault (privileged instruction lgdt)",
    ),
    (
        "lidt",
        "general protection fault (privileged instruction lidt)",
    ),
    (
        "invlpg",
        "general protection fault (privileged instruction invlpg)",
    ),
    (
        "int",
        "general protection fault (privileged instruction int 0x80)",
    ),
    ("xsetbv", "invalid opcode (privileged instruction xsetbv)"),
    (
        "sgdt",
        "general protection fault (privileged instruction sgdt)",
    ),
    (
        "sidt",
        "general protection fault (privileged instruction sidt)",
    ),
    (
        "sldt",
        "general protection fault (privileged instruction sldt)",
    ),
    (
        "smsw",
        "general protection fault (privileged instruction smsw)",
    ),
    (
        "str",
        "general protection fault (privileged instruction str)",
    ),
    (
        "ac-then-hlt",
        "general protection fault (privileged instruction hlt)",
    ),
];

/// Exceptions the `fault` guest raises, and the cause the report must give.
const FAULTS: [(&str, &str); 8] = [
    ("divide", "divide error"),
    (
        "page-fault",
        "page fault at 0xdead0000 (read of an unmapped page)",
    ),
    (
        "kernel-address",
        "page fault at 0xffff800000100000 (read of an unmapped page)",
    ),
    ("invalid-opcode", "invalid opcode"),
    ("breakpoint", "breakpoint"),
    ("stack-overflow", "(write to an unmapped page)"),
    (
        "unmapped-handler",
        "its handler faulted while being entered",
    ),
    (
        "bad-stack",
        "invalid opcode; its handler could not be entered (stack unusable)",
    ),
];

/// Broken images for the malformed-image scenario: domain name, damage, and
/// the reason the rejection must give.
const MALFORMED: [(&str, Corruption, &str); 6] = [
    (
        "bad-magic",
        Corruption::BadMagic,
        "not an ELF file (bad magic)",
    ),
    (
        "wrong-machine",
        Corruption::WrongMachine,
        "built for machine 3, not x86_64",
    ),
    (
        "entry-outside",
        Corruption::EntryOutside,
        "entry point 0x10 lies outside",
    ),
    ("overlap", Corruption::OverlappingSegments, "overlap"),
    (
        "oversized",
        Corruption::OversizedSegment,
        "but the domain has",
    ),
    ("truncated", Corruption::Truncated, "malformed ELF"),
];

/// Every scenario, in the order they run.
pub fn all() -> Vec<Scenario> {
    let mut privileged = Scenario::new("privileged-instructions", HvExit::DomainFailed);
    for (class, cause) in PRIVILEGED_CLASSES {
        let name = format!("priv-{class}");
        privileged = privileged
            .guest(&name, "privileged", class)
            .stopped(&name, cause);
    }
    privileged = privileged
        .guest("survivor", "worker", "lines=20")
        .finishes("survivor")
        .forbid("NOT CONTAINED")
        .forbid("FATAL")
        .forbid("panic");

    let mut malformed = Scenario::new("malformed-images", HvExit::DomainFailed);
    for (name, kind, reason) in MALFORMED {
        malformed = malformed
            .corrupt_guest(name, "hello", kind)
            .line(&format!("image '{name}' rejected: "))
            .line(reason);
    }
    malformed = malformed.guest("good", "hello", "").finishes("good");

    let mut exceptions = Scenario::new("guest-exceptions", HvExit::DomainFailed);
    for (kind, cause) in FAULTS {
        exceptions = exceptions
            .guest(kind, "fault", kind)
            .line(&format!("'{kind}' stopped at rip"))
            .line(cause);
    }
    exceptions = exceptions
        .guest("top-page", "top-page", "")
        .line("[top-page] jumping to the syscall at 0x7ffffffffffe")
        .exact("hv: warning: domain 9 'top-page' stopped at rip 0x7ffffffffffe: page fault at 0x7ffffffffffe (instruction fetch)")
        .guest("bystander", "worker", "lines=10")
        .finishes("bystander")
        .forbid("NOT CONTAINED");

    let mut all = vec![
        Scenario::new("boot-and-greet", HvExit::Success)
            .guest("hello", "hello", "")
            .line("hv: microhypervisor")
            .line("[hello] hello from hello")
            .finishes("hello"),
        Scenario::new("two-guests", HvExit::Success)
            .guest("one", "worker", "lines=5")
            .guest("two", "worker", "lines=5")
            .finishes("one")
            .finishes("two")
            .ordered(
                LineMatch::Prefix("[two] ".into()),
                LineMatch::Prefix("[one] ".into()),
            ),
        privileged,
        Scenario::new("unknown-hypercall", HvExit::Success)
            .guest("probe", "bad-hypercall", "unknown")
            .finishes("probe"),
        Scenario::new("bad-pointers", HvExit::Success)
            .guest("probe", "bad-hypercall", "pointers")
            .finishes("probe"),
        Scenario::new("bad-multicall", HvExit::Success)
            .guest("probe", "bad-hypercall", "multicall")
            .line("[probe] multicall array into an unmapped page: 2 of 5 ran")
            .line("[probe] multicall refused calls stop the batch; still running")
            .finishes("probe"),
        // Once, one such call crashed the whole machine.
        Scenario::new("invalidate-hypervisor-pages", HvExit::Success)
            .guest("probe", "bad-hypercall", "invalidate-hypervisor")
            .guest("bystander", "worker", "lines=20")
            .line("[probe] 24580 hypervisor pages invalidated; still running")
            .finishes("probe")
            .finishes("bystander"),
        malformed,
        exceptions,
        // (With the driver domain beside it, the driver domain would be the
        // one domain started: this is the hypervisor's answer to nothing.)
        Scenario::new("every-image-rejected", HvExit::NoDomains)
            .corrupt_guest("broken", "hello", Corruption::BadMagic)
            .no_driver()
            .line("image 'broken' rejected")
            .line("no domain could be started"),
        Scenario::new("default-guests", HvExit::Success)
            .guest("alpha", "guest-kernel", "")
            .guest("beta", "guest-kernel", "")
            .line("[alpha] Hello from alpha!")
            .line("[beta] Hello from beta!")
            .line("two kernel threads ran")
            .line("[alpha] page tables: ")
            .line("'alpha': ")
            .line(" shadow table bytes at exit")
            .line("'alpha' shut down with code 0")
            .line("'beta' shut down with code 0"),
        Scenario::new("demand-paging", HvExit::Success)
            .guest("demand", "demand-paging", "")
            .line("pages mapped on demand by the guest's fault handler")
            .finishes("demand"),
        Scenario::new("copy-on-write", HvExit::Success)
            .guest("cow", "copy-on-write", "")
            .line("2 copies made, shared frame untouched")
            .finishes("cow"),
        Scenario::new("address-space-switches", HvExit::Success)
            .guest("spaces", "address-spaces", "")
            .line("10000 address-space switches, each space kept its own data")
            .finishes("spaces"),
        Scenario::new("dirty-bits", HvExit::Success)
            .guest("dirty", "dirty-bits", "")
            .line("accessed and dirty bits observed over 3 rounds")
            .finishes("dirty"),
        Scenario::new("memory-isolation", HvExit::Success)
            .guest("isolated", "isolation", "")
            .guest("neighbour", "worker", "lines=10")
            .line("frame beyond memory: refused")
            .line("huge frame number: refused")
            .line("low frame number: the guest's own memory")
            .line("hypervisor addresses: not mapped for the guest")
            .finishes("isolated")
            .finishes("neighbour"),
        Scenario::new("sparse-mapping", HvExit::Success)
            .guest("sparse", "sparse", "")
            .guest("neighbour", "worker", "lines=20")
            .cmdline("loglevel=debug")
            .line("touched 4096 large pages (8 GiB) twice, all data correct")
            .line("'sparse': ")
            .line("times, recycled")
            .line("'neighbour': ")
            .line("shadow pool never exhausted")
            .finishes("sparse")
            .finishes("neighbour"),
        Scenario::new("exception-reflection", HvExit::Success)
            .guest("traps", "exceptions", "")
            .line("divide error: vector 0 reflected")
            .line("debug (single step): vector 1 reflected")
            .line("breakpoint: vector 3 reflected")
            .line("invalid opcode: vector 6 reflected")
            .line("general protection (cli): vector 13 reflected, error 0x0")
            .line("general protection (int 0x80): vector 13 reflected")
            .line("page fault (read, not present): vector 14 reflected, error 0x4, address 0x5a0000000008")
            .line("page fault (write, read-only): vector 14 reflected, error 0x7, address 0x5b0000000010")
            .finishes("traps"),
        Scenario::new("user-mode", HvExit::Success)
            .guest("kernel", "user-mode", "")
            .guest("neighbour", "hello", "")
            .line("user-mode: system calls: 4 arrived, results returned")
            .line("user-mode: read kernel data: vector 14 error 0x5")
            .line("user-mode: write kernel data: vector 14 error 0x7")
            .line("user-mode: jump into the kernel: vector 14 error 0x15")
            .line("user-mode: jump to the kernel's fault handler: vector 14 error 0x15")
            .line("user-mode: cli: vector 13 error 0x0")
            .line("user-mode: hlt: vector 13 error 0x0")
            .line("user-mode: mov cr3: vector 13 error 0x0")
            .line("user-mode: out: vector 13 error 0x0")
            .line("user-mode: in: vector 13 error 0x0")
            .line("user-mode: int3: vector 3 error 0x0")
            .line("user-mode: timer upcall while spinning: kernel entered from the user context")
            .line("user-mode: syscall without a system-call entry: #UD")
            .line("user-mode: iret to user mode without a kernel stack: refused")
            .finishes("kernel")
            .finishes("neighbour"),
        Scenario::new("user-mode-bad-kernel-stack", HvExit::DomainFailed)
            .guest("kernel", "user-mode", "bad-kernel-stack")
            .guest("neighbour", "worker", "lines=20")
            .stopped(
                "kernel",
                "system call; its handler could not be entered (stack unusable)",
            )
            .finishes("neighbour")
            .forbid("FATAL")
            .forbid("panic"),
        Scenario::new("event-channels", HvExit::Success)
            .guest("events", "event-channels", "")
            .line("port mask: 100 sends while masked, delivered once after unmask")
            .line("global mask: 50 sends while masked, delivered once after enable")
            .line("misuse statuses checked")
            .finishes("events"),
        Scenario::new("timer-and-threads", HvExit::Success)
            .guest("clock", "timekeeping", "")
            .line("deadline +1 ms met")
            .line("deadline +20 ms met")
            .line("slept 5 ms without a tick")
            .line("3 threads that never yield all ran, preempted by the tick")
            .line("slept")
            .finishes("clock"),
        Scenario::new("interdomain-ping-pong", HvExit::Success)
            .guest("ping", "ping-pong", "role=ping peer=pong rounds=3000")
            .guest("pong", "ping-pong", "role=pong peer=ping rounds=3000")
            .line("3000 pings sent, 3000 replies received")
            .line("3000 pings received and answered")
            .finishes("ping")
            .finishes("pong"),
        Scenario::new("masked-spinner-cannot-starve", HvExit::Success)
            .guest("spinner", "spinner", "ms=1000")
            .guest("worker", "worker", "lines=20")
            .line("spun 1000 ms with virtual interrupts masked")
            .finishes("spinner")
            .finishes("worker")
            .ordered(LineMatch::Prefix("[worker] done".into()), LineMatch::Prefix("[spinner] spun".into())),
        Scenario::new("event-flood", HvExit::Success)
            .guest("flooder", "flood", "role=flood peer=sink ms=300")
            .guest("sink", "flood", "role=sink peer=flooder")
            .guest("bystander", "worker", "lines=20")
            .line("events in 300 ms")
            .line("the flooder's port closed")
            .finishes("flooder")
            .finishes("sink")
            .finishes("bystander"),
        Scenario::new("shell-session", HvExit::Success)
            .guest("alpha", "guest-kernel", "")
            .input(b"echo hello\nuptime\nshutdown\n")
            .exact("[alpha] shell ready: type 'help'")
            .exact("[alpha] alpha> echo hello")
            .exact("[alpha] hello")
            .exact("[alpha] alpha> uptime")
            .line("[alpha] up ")
            .exact("[alpha] alpha> shutdown")
            .exact("[alpha] bye")
            .exact("hv: domain 1 'alpha' shut down with code 0")
            .check(uptime_is_plausible),
        crate::driver_console_scenarios::console_focus("console-focus"),
        Scenario::new("console-1mib", HvExit::Success)
            .guest("printer", "console-flood", "bytes=1048576")
            .guest("other", "worker", "lines=100")
            .finishes("printer")
            .finishes("other")
            .check(printed_data_is_intact),
        // A terminal that reads slowly (small reads, long pauses): the UART
        // waits for the host and not one byte is lost.
        Scenario::new("console-slow-reader", HvExit::Success)
            .guest("printer", "console-flood", "bytes=262144")
            .guest("other", "worker", "lines=100")
            .slow_reader()
            .finishes("printer")
            .finishes("other")
            .check(printed_data_is_intact),
        Scenario::new("hostile-console-ring", HvExit::Success)
            .guest("beyond", "hostile-console", "mode=beyond")
            .guest("backwards", "hostile-console", "mode=backwards")
            .guest("alpha", "guest-kernel", "")
            .guest("refused", "hostile-console", "mode=refusals")
            .input(b"\x013echo still served\n")
            .exact("[driver] console of domain 1 'beyond' disconnected: ring corrupt (output producer: BeyondRing)")
            .line("[driver] console of domain 2 'backwards' disconnected: ring corrupt (input consumer")
            .exact("[beyond] still running after corrupting my console")
            .exact("[backwards] still running after corrupting my console")
            .exact("[alpha] still served")
            .line("'alpha' shut down with code 0")
            .exact("[refused] frontend_connect(Console, read-only grant): INVALID_ARGUMENT")
            .exact("[refused] frontend_connect(Console, grant to another domain): INVALID_ARGUMENT")
            .exact("[refused] frontend_connect(Console, forged reference): INVALID_ARGUMENT")
            .exact("[refused] frontend_connect(Console, port not offered to the server): BAD_PORT")
            .finishes("refused")
            .check(each_corruption_reported_once),
        // Domains that end with lines still in their console ring, one
        // stopped by the hypervisor (`ud2` with no handler) and one calling
        // `shutdown` without flushing: every line is shown, the stopped
        // domain's before the hypervisor's report.
        Scenario::new("console-last-words", HvExit::DomainFailed)
            .guest("stopped", "hostile-console", "mode=last-words")
            .guest("ended", "hostile-console", "mode=last-shutdown")
            .guest("bystander", "worker", "lines=10")
            .exact("[stopped] last words 1/20")
            .exact("[stopped] last words 20/20")
            .exact("[ended] last words 1/20")
            .exact("[ended] last words 20/20")
            .ordered(
                LineMatch::Prefix("[stopped] last words 20/20".into()),
                LineMatch::Prefix("hv: warning: domain 1 'stopped' stopped at rip".into()),
            )
            .line("domain 2 'ended' shut down with code 3")
            .finishes("bystander"),
        Scenario::new("block-edges-and-isolation", HvExit::Success)
            .guest("blk1", "block-test", "")
            .guest("blk2", "block-test", "")
            .disk(16)
            .line("[blk1] virtual disk: 8192 sectors")
            .line("[blk1] first and last sectors written, flushed and read back")
            .line("[blk2] first and last sectors written, flushed and read back")
            .line("requests outside the virtual disk fail with an I/O error")
            .line("5 requests in flight at once completed")
            .line("[blk1] 12 sectors written and read back as byte buffers")
            .line("[blk1] device id pvhv-disk-1")
            .finishes("blk1")
            .finishes("blk2")
            .check(patterns_are_on_disk_in_separate_regions),
        Scenario::new("persistence-killed-after-flush", HvExit::Success)
            .guest("blk1", "block-test", "mode=persist")
            .disk(16)
            .kill_on("flushed; waiting to be killed")
            .line("[blk1] flushed; waiting to be killed")
            .check(persisted_pattern_is_in_the_image),
        Scenario::new("persistence-read-back", HvExit::Success)
            .guest("blk1", "block-test", "mode=verify")
            .reuse_disk("persistence-killed-after-flush")
            .line("[blk1] pattern from the previous boot found at sector 8184")
            .finishes("blk1"),
        Scenario::new("ext2-files", HvExit::Success)
            .guest("alpha", "guest-kernel", "")
            .guest("beta", "guest-kernel", "")
            .ext2_disk()
            .input(b"ls\nls /docs\ncat /hello.txt\nsum /docs/numbers.txt\ncat /missing\n")
            .exact("[alpha] disk: 8192 sectors, ext2 filesystem mounted")
            .exact("[beta] disk: 8192 sectors, ext2 filesystem mounted")
            .exact("[alpha] docs/")
            .exact("[alpha] hello.txt")
            .exact("[alpha] numbers.txt")
            .exact("[alpha] Hello from the guest's disk!")
            .exact("[alpha] /missing: file not found")
            // Each shell closes its disk before shutting down: the driver
            // domain lets go of the ring, nothing is left to revoke.
            .exact("[driver] frontend 1 closed its connection")
            .exact("[driver] frontend 2 closed its connection")
            .forbid("revoked at")
            .check(checksum_matches_the_repository_file),
        // A disk with no driver domain to serve it: the hypervisor says so,
        // the guest's block frontend gives up after its wait with one line,
        // and the guest goes on without a disk.
        Scenario::new("disk-without-driver", HvExit::Success)
            .guest("alpha", "guest-kernel", "")
            .ext2_disk()
            .no_driver()
            .line("hv: warning: disk: virtio-blk ")
            .line(", but no driver domain serves it")
            .exact("[alpha] disk: no block backend answered (no driver domain serves the disk)")
            // Its shell runs on: without a console server it has no input,
            // which it takes as the end of input.
            .exact("[alpha] shell ready: type 'help'")
            .line("[alpha] end of input: shutting down")
            .line("'alpha' shut down with code 0")
            .timeout(Duration::from_secs(60)),
        Scenario::new("readme-guest", HvExit::Success)
            .guest("readme", "readme-guest", "")
            .input(b"Ada\n")
            .exact("[readme] Hello from readme, domain 1!")
            .line("[readme] mapped 0x400000000000 to frame 0x")
            .line(", read back 0x12345678")
            .exact("[readme] What is your name?")
            .exact("[readme] Ada")
            .exact("[readme] Nice to meet you, Ada.")
            .exact("hv: domain 1 'readme' shut down with code 0")
            .forbid("panic")
            .check(ticks_match_the_sleep),
        Scenario::new("new-guest-scaffold", HvExit::Success)
            .prepare(new_guest::scaffold_and_build)
            .file_guest("scaffold", new_guest::scaffold_image(), "")
            .exact("[scaffold] scaffolded-guest: hello from domain 1 'scaffold'")
            .exact("hv: domain 1 'scaffold' shut down with code 0")
            .forbid("panic"),
        Scenario::new("bundle-memory-out-of-range", HvExit::DomainFailed)
            .guest("odd", "hello", "")
            .mem(12345)
            .guest("small", "hello", "")
            .mem(512 << 10)
            .guest("good", "hello", "")
            .mem(4 << 20)
            .exact("hv: error: image 'odd' rejected: memory of 12345 bytes is not a whole number of pages from 1 MiB to 4 GiB")
            .line("image 'small' rejected: memory of 524288 bytes")
            .forbid("[odd]")
            .forbid("[small]")
            .finishes("good"),
        // Disk regions named in the bundle: one wrapping round the sector
        // numbers and one sharing sectors with another domain's are
        // rejected while their neighbours run; one beyond the disk is the
        // backend's to refuse (the hypervisor does not drive the disk and
        // does not know its size): the frontend hears so at once.
        Scenario::new("bundle-disk-region-bad", HvExit::DomainFailed)
            .disk(8)
            .guest("far", "guest-kernel", "")
            .disk_region(16_000, 1024)
            .guest("wrapping", "hello", "")
            .disk_region(u64::MAX - 10, 100)
            .guest("good", "hello", "")
            .disk_region(0, 8192)
            .guest("sharing", "hello", "")
            .disk_region(8000, 400)
            .input(b"\x011echo far still running\n")
            .line("image 'wrapping' rejected: disk region of 100 sectors at sector 18446744073709551605 wraps round the sector numbers")
            .exact("hv: error: image 'sharing' rejected: disk region of 400 sectors at sector 8000 overlaps domain 2 (good)'s, 8192 sectors at sector 0")
            .forbid("[sharing]")
            .exact("[driver] frontend 1 refused: its region (1024 sectors at 16000) lies beyond the disk")
            .exact("[far] disk: the block backend refused this domain's region")
            .exact("[far] far still running")
            .forbid("[wrapping]")
            .finishes("good"),
        Scenario::new("many-domains-64", HvExit::Success)
            .guests("hello", "hello", 64, 4 << 20)
            .line(&format!(
                "[hello-64] hello from hello-64 (domain 64, ABI {}.{})",
                shared_abi::ABI_MAJOR,
                shared_abi::ABI_MINOR
            ))
            .line("result: domain 64 'hello-64' exited with code 0"),
        Scenario::new("many-domains-1024", HvExit::Success)
            .guests("hello", "hello", 1024, 4 << 20)
            // A bundle's 1024 entries leave no room for the driver domain.
            .no_driver()
            .line(&format!(
                "[hello-1024] hello from hello-1024 (domain 1024, ABI {}.{})",
                shared_abi::ABI_MAJOR,
                shared_abi::ABI_MINOR
            ))
            .line("result: domain 1024 'hello-1024' exited with code 0")
            .long(Duration::from_secs(300)),
        Scenario::new("fair-share-64", HvExit::Success)
            .guests("share", "share", FAIR_SHARE_DOMAINS as u32, 4 << 20)
            .check(every_share_is_fair)
            .instruction_clock(2)
            .timeout(Duration::from_secs(180)),
        // A domain whose every early-console call costs the serial line far
        // more than a slice (4096 empty lines, a prefix each): that time is
        // its own, and the spinners beside it still get their share.
        (1..=HOG_SHARE_SPINNERS)
            .fold(Scenario::new("fair-share-console-hog", HvExit::Success), |s, n| {
                let name = format!("share-{n}");
                s.guest(&name, "share", "delay_ms=500 window_ms=4000 tail_ms=1000")
                    .finishes(&name)
            })
            .guest("h", "share", "role=hog ms=5500")
            .line("[h] hogged the console with")
            .check(the_console_hog_pays_for_its_output)
            .timeout(Duration::from_secs(120)),
        crate::fuzz::scenario(
            "hypercall-fuzz",
            crate::fuzz::SCENARIO_SEED,
            crate::fuzz::SCENARIO_CALLS,
        ),
        Scenario::new("hypervisor-fault", HvExit::HypervisorFault)
            .guest("hello", "hello", "")
            .cmdline("hv_selftest=fault")
            .line("hv: FATAL:")
            .line("rip="),
        // Grant tables: a page lent read-write, used through a mapping and
        // through copies both ways, then unmapped and ended.
        Scenario::new("grant-share", HvExit::Success)
            .guest("front", "grant-test", "mode=share-granter peer=back")
            .guest("back", "grant-test", "mode=share-grantee peer=front")
            .line("[front] granted page 0x")
            .line(" as reference 0x100")
            .exact("[back] pattern read through 0x8000000000, reply written, 64 bytes copied each way, unmapped")
            .exact("[front] reply and copy read back; grant ended")
            .exact("[back] the ended grant is refused")
            .finishes("front")
            .finishes("back"),
        // Every misuse of a grant answers its status; a write through a
        // read-only mapping is the writer's page fault; a bystander runs on.
        Scenario::new("grant-hostile", HvExit::Success)
            .guest("front", "grant-test", "mode=hostile-granter peer=back third=third")
            .guest("back", "grant-test", "mode=hostile-grantee peer=front")
            .guest("third", "grant-test", "mode=hostile-third peer=front")
            .guest("bystander", "worker", "lines=20")
            .exact("[front] bad pages, flags and domains refused; 64 grants, the 65th refused")
            .exact("[back] stale, forged and someone else's references denied; bad copies refused")
            .exact("[back] write through a read-only mapping: page fault (error 0x7), page intact")
            .exact("[back] 32 grants mapped at once, 29 more refused")
            .exact("[back] the mapped page refused as a buffer of console_write and the copies")
            .exact("[back] unmapped after the granter saw BUSY; slot 0 granted again at generation 2")
            .exact("[front] end refused while mapped, accepted after unmap; read-only page intact")
            .exact("[third] another domain's grant denied, its own mapped and unmapped")
            .exact("[front] a copy-only grant: its map denied, a copy into it done")
            .exact("[third] its copy-only grant copied into, and never busy to end")
            .finishes("front")
            .finishes("back")
            .finishes("third")
            .finishes("bystander"),
        // A granter ends with its page mapped: the mapping is revoked before
        // its memory is freed, the grantee's next access faults. A grantee
        // ends with a page mapped: the granter can end the grant then.
        Scenario::new("grant-revoked-while-mapped", HvExit::Success)
            .guest("front", "grant-test", "mode=revoke-granter peer=back")
            .guest("back", "grant-test", "mode=revoke-grantee peer=front")
            .guest("orphan-front", "grant-test", "mode=orphan-granter peer=orphan-back")
            .guest("orphan-back", "grant-test", "mode=orphan-grantee peer=orphan-front")
            .guest("bystander", "worker", "lines=20")
            .exact("[front] ending with the page mapped")
            .exact("hv: domain 2 'back': grant 0x100 of domain 1 revoked at 0x8000000000")
            .line("[back] access to the revoked page faulted (error 0xd) after ")
            .exact("[back] window slot empty after the revocation")
            .exact("[orphan-back] ending with the page mapped")
            .exact("[orphan-front] grant ended with its grantee")
            .finishes("front")
            .finishes("back")
            .finishes("orphan-front")
            .finishes("orphan-back")
            .finishes("bystander"),
        // The same when the granter crashes: it is contained, the mapping
        // revoked, the grantee and a bystander finish.
        Scenario::new("grant-revoked-granter-crashed", HvExit::DomainFailed)
            .guest("front", "grant-test", "mode=revoke-granter peer=back end=crash")
            .guest("back", "grant-test", "mode=revoke-grantee peer=front")
            .guest("bystander", "worker", "lines=20")
            .exact("[front] crashing with the page mapped")
            .stopped("front", "invalid opcode")
            .exact("hv: domain 2 'back': grant 0x100 of domain 1 revoked at 0x8000000000")
            .line("[back] access to the revoked page faulted (error 0xd) after ")
            .finishes("back")
            .finishes("bystander")
            .forbid("NOT CONTAINED"),
        Scenario::new("driver-disk", HvExit::Success)
            .driver("driver", "driver", "")
            .guest("bystander", "bystander", "peer=driver min_share=20")
            .disk(32)
            .exact("hv: domain 1 'driver' is the driver domain")
            .line("hv: driver: virtio-blk 00:")
            .exact("[driver] COM1 scratch register: wrote and read back 0xa5, 0x5a")
            .line("[driver] virtio-blk 1af4:")
            .line(", 65536 sectors, interrupt line ")
            .exact("[driver] pattern written and read back at sector 64: ok")
            .line("[driver] direct sequential write: ")
            .line("[driver] direct sequential read: ")
            .line("[driver] direct random 4 KiB read: ")
            .line("[driver] direct random 4 KiB write: ")
            .finishes("driver")
            .finishes("bystander")
            .timeout(Duration::from_secs(60)),
        Scenario::new("driver-refusals", HvExit::Success)
            .driver("driver", "driver", "measure=no")
            .guest("intruder", "device-refusals", "")
            .guest("bystander", "worker", "lines=20")
            .disk(16)
            .exact("[intruder] in from port 0x3f8 refused: vector 13, error 0x0")
            .exact("[intruder] in from port 0x3ff refused: vector 13, error 0x0")
            .exact("[intruder] in from port 0x60 refused: vector 13, error 0x0")
            .exact("[intruder] out to port 0x3ff refused: vector 13, error 0x0")
            .exact("[intruder] out to port 0x80 refused: vector 13, error 0x0")
            .exact("[intruder] pci_config_read(0): DENIED")
            .exact("[intruder] pci_config_read(offset 256): DENIED")
            .exact("[intruder] pci_config_write(command): DENIED")
            .exact("[intruder] pci_config_write(BAR0): DENIED")
            .exact("[intruder] irq_bind(11): DENIED")
            .exact("[intruder] irq_done(1): DENIED")
            .exact("[intruder] dma_address(0): DENIED")
            .exact("[intruder] still running after every refusal")
            .exact("[driver] COM1 scratch register: wrote and read back 0xa5, 0x5a")
            .exact("[driver] out to port 0x80 refused: vector 13, error 0x0")
            .exact("[driver] in from port 0xcf8 refused: vector 13, error 0x0")
            .exact("[driver] pci_config_write(BAR0): DENIED")
            .exact("[driver] pci_config_write(BAR4): DENIED")
            .exact("[driver] pci_config_write(interrupt line): DENIED")
            .exact("[driver] pci_config_write(offset 6): INVALID_ARGUMENT")
            .exact("[driver] pci_config_read(offset 256): INVALID_ARGUMENT")
            .exact("[driver] pci_config_read(offset 2): INVALID_ARGUMENT")
            .exact("[driver] irq_bind(another line): DENIED")
            .exact("[driver] irq_done(no line bound): BAD_PORT")
            .exact("[driver] dma_address(end of memory): INVALID_ARGUMENT")
            .exact("[driver] dma_address(u64::MAX): INVALID_ARGUMENT")
            .exact("[driver] irq_bind(own line) again: ALREADY_BOUND")
            .exact("[driver] pattern written and read back at sector 64: ok")
            .forbid("direct sequential")
            .forbid("stopped at rip")
            .finishes("intruder")
            .finishes("driver")
            .finishes("bystander"),
        Scenario::new("driver-two-drivers", HvExit::NoDomains)
            .driver("one", "driver", "")
            .driver("two", "driver", "")
            .guest("hello", "hello", "")
            .exact("hv: error: bundle names more than one driver domain")
            .forbid("[one]")
            .forbid("[hello]"),
        Scenario::new("driver-no-device", HvExit::Success)
            .driver("driver", "driver", "device=none")
            .guest("hello", "hello", "")
            .exact("hv: driver: no virtio-blk device to assign")
            .exact("[driver] COM1 scratch register: wrote and read back 0xa5, 0x5a")
            .exact("[driver] pci_config_read(0): NOT_READY")
            .exact("[driver] pci_config_write(command): NOT_READY")
            .exact("[driver] irq_bind(11): NOT_READY")
            .exact("[driver] irq_done(1): NOT_READY")
            .finishes("driver")
            .line("'hello' shut down with code 0"),
        // A crashing driver domain is restarted, drives the disk again and
        // finds what it wrote before the crash; a bystander runs on.
        Scenario::new("driver-restart", HvExit::Success)
            .driver("driver", "driver", "crash=once measure=no")
            .guest("bystander", "worker", "lines=30")
            .disk(16)
            .exact("[driver] crashing with the pattern written (run 1)")
            .stopped("driver", "invalid opcode")
            .exact("hv: warning: domain 1 'driver' restarted (restart 1 of 3)")
            .exact("[driver] run 2: the pattern written before the restart read back at sector 64: ok")
            .finishes("driver")
            .finishes("bystander"),
    ];
    all.extend(crate::fs_scenarios::all());
    all.extend(crate::fs_write_scenarios::all());
    all.extend(crate::user_scenarios::all());
    all.push(crate::trace::scenario());
    all.extend(crate::gdb_scenarios::all());
    all.extend(crate::emulation_scenarios::all());
    all.extend(crate::restart_scenarios::all());
    all.extend(crate::driver_block_scenarios::all());
    all.extend(crate::driver_console_scenarios::all());
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::GUEST_BINS;
    use crate::bundle::GuestSpec;
    use crate::scenario::ImageSource;

    #[test]
    fn table_is_consistent() {
        let scenarios = all();
        for (index, scenario) in scenarios.iter().enumerate() {
            assert!(
                scenarios[..index]
                    .iter()
                    .all(|other| other.name != scenario.name),
                "{}",
                scenario.name
            );
            assert!(
                !scenario.guests.is_empty(),
                "{} has no guests",
                scenario.name
            );
            for guest in &scenario.guests {
                match &guest.image {
                    ImageSource::Binary(bin) | ImageSource::Corrupt(bin, _) => assert!(
                        GUEST_BINS.contains(bin),
                        "{}: unknown binary {bin}",
                        scenario.name
                    ),
                    ImageSource::File(path) => assert!(
                        path.is_absolute() && scenario.prepare.is_some(),
                        "{}: {} is built by nothing",
                        scenario.name,
                        path.display()
                    ),
                }
            }
            let specs: Vec<_> = scenario
                .guests
                .iter()
                .map(|guest| GuestSpec {
                    name: guest.name.clone(),
                    args: guest.args.clone(),
                    ..GuestSpec::default()
                })
                .collect();
            crate::bundle::encode(&specs).unwrap();
        }
    }

    #[test]
    fn privileged_scenario_covers_every_class() {
        let scenario = all()
            .into_iter()
            .find(|s| s.name == "privileged-instructions")
            .unwrap();
        assert_eq!(scenario.guests.len(), PRIVILEGED_CLASSES.len() + 1);
        assert!(scenario.expect.reports.contains(&(
            "'priv-mov-cr3' stopped at rip 0x".to_string(),
            ": general protection fault (privileged instruction mov to cr3)".to_string()
        )));
        assert!(
            scenario
                .expect
                .forbidden
                .contains(&"NOT CONTAINED".to_string())
        );
    }
}
