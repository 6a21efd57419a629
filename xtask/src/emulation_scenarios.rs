//! The scenarios of the emulating execution modes: a kernel on native
//! privileged instructions under trap-and-emulate and under patching, the
//! x86 holes that make trap-and-emulate incomplete (with UMIP and without)
//! next to the paravirtual interface that avoids them, operands the
//! virtual CPU refuses, instructions it does not emulate at all, random
//! privileged instructions with wild operands, and the bench's workload
//! run three ways.

use shared_abi::emulation::Mode;
use shared_abi::exit::HvExit;

use crate::scenario::Scenario;

/// What the `native` guest prints, in order, in either emulating mode.
const NATIVE_LINES: [&str; 11] = [
    "cli/sti: an event sent while masked was delivered at sti",
    "a single step over an emulated instruction trapped right after it",
    "sti; hlt woke on the timer; hlt with an event pending returned at once",
    "mov cr3 switched between two address spaces and mov reg, cr3 read them back",
    "invlpg dropped a stale translation",
    "native console: written through the UART",
    "rdmsr/wrmsr: EFER, TSC_AUX, PAT and the TSC as documented",
    "a site the guest rewrote runs the new instruction",
    "an instruction split across two pages was emulated",
    "a patched instruction whose operand the guest changed ran as changed",
    "lidt: #UD, #PF, #BP and upcalls entered through the IDT and left with iretq",
];

/// Privileged-instruction classes of the `privileged` guest that the
/// virtual CPU does not emulate (another port, another MSR, another
/// control register, a software interrupt, an instruction it lacks): in
/// an emulating mode they are contained exactly as in a paravirtual one.
const NOT_EMULATED: [(&str, &str); 6] = [
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
        "wrmsr",
        "general protection fault (privileged instruction wrmsr)",
    ),
    (
        "int",
        "general protection fault (privileged instruction int 0x80)",
    ),
    ("xsetbv", "invalid opcode (privileged instruction xsetbv)"),
];

/// Random privileged instructions each `emulation-fuzz` domain executes.
const FUZZ_INSTRUCTIONS: u32 = 20_000;

/// The bench's three workload domains: name, mode, arguments.
pub const WORKLOAD_DOMAINS: [(&str, Mode, &str); 3] = [
    ("pv", Mode::Paravirtual, "ops=pv technique=pv"),
    (
        "emulated",
        Mode::Emulate,
        "ops=native technique=emulated after=pv",
    ),
    (
        "patched",
        Mode::Patch,
        "ops=native technique=patched after=emulated",
    ),
];

/// The domain's end-of-run emulation report (`N instructions emulated, M
/// sites patched, K patched executions`) as numbers.
fn emulation_report(log: &str, name: &str) -> Option<(u64, u64, u64)> {
    let line = log.lines().find(|line| {
        line.contains(&format!("'{name}' (")) && line.contains("instructions emulated")
    })?;
    let numbers: Vec<u64> = line
        .split_once("mode): ")?
        .1
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|word| word.parse().ok())
        .collect();
    match numbers[..] {
        [emulated, patched, runs] => Some((emulated, patched, runs)),
        _ => None,
    }
}

/// The patch-mode guest had sites patched and ran them patched.
fn patches_were_taken(log: &str) -> Result<(), String> {
    match emulation_report(log, "patched") {
        Some((_, sites, runs)) if sites > 0 && runs > 0 => Ok(()),
        Some((emulated, sites, runs)) => Err(format!(
            "patch mode: {emulated} emulated, {sites} sites patched, {runs} patched executions"
        )),
        None => Err("no emulation report for 'patched'".into()),
    }
}

/// The emulate-mode guest emulated and never patched.
fn nothing_was_patched(log: &str) -> Result<(), String> {
    match emulation_report(log, "emulated") {
        Some((emulated, 0, 0)) if emulated > 0 => Ok(()),
        other => Err(format!("emulate mode report: {other:?}")),
    }
}

/// The two fuzzers ran the same instructions (one seed) in the two
/// emulating modes: patching must not change how any of them ended.
fn both_modes_ended_alike(log: &str) -> Result<(), String> {
    let summary = |name: &str| {
        log.lines()
            .find_map(|line| line.strip_prefix(&format!("[{name}] emulation fuzz: ")))
            .ok_or(format!("no summary from {name}"))
    };
    let (emulated, patched) = (summary("fuzz-emulate")?, summary("fuzz-patch")?);
    match emulated == patched {
        true => Ok(()),
        false => Err(format!("emulate mode: {emulated}; patch mode: {patched}")),
    }
}

/// Every scenario of this file, in the order they run.
pub fn all() -> Vec<Scenario> {
    let native = |scenario: &'static str, name: &str, mode: Mode, check| {
        let mut native = Scenario::new(scenario, HvExit::Success)
            .guest(name, "native", &format!("mode={}", mode.name()))
            .mode(mode)
            .guest("bystander", "worker", "lines=20")
            .finishes(name)
            .finishes("bystander")
            .check(check);
        for line in NATIVE_LINES {
            native = native.line(&format!("[{name}] {line}"));
        }
        native
    };
    let emulated = native(
        "emulate-instructions",
        "emulated",
        Mode::Emulate,
        nothing_was_patched,
    );
    let patched = native(
        "patch-instructions",
        "patched",
        Mode::Patch,
        patches_were_taken,
    );

    let mut contained = Scenario::new("emulate-contains-the-rest", HvExit::DomainFailed);
    for (class, cause) in NOT_EMULATED {
        let name = format!("emu-{class}");
        contained = contained
            .guest(&name, "privileged", class)
            .mode(Mode::Emulate)
            .stopped(&name, cause);
    }
    contained = contained
        .guest("empty-idt", "wild-operands", "case=empty-idt")
        .mode(Mode::Emulate)
        .stopped("empty-idt", "invalid opcode")
        .guest("survivor", "worker", "lines=20")
        .finishes("survivor")
        .forbid("NOT CONTAINED");

    let mut workload = Scenario::new("workload-three-ways", HvExit::Success);
    for (name, mode, args) in WORKLOAD_DOMAINS {
        workload = workload
            .guest(name, "workload", args)
            .mode(mode)
            .line(&format!("[{name}] bench workload_{name} "))
            .finishes(name);
    }

    vec![
        emulated,
        patched,
        Scenario::new("wild-operands", HvExit::Success)
            .guest("emulated", "wild-operands", "")
            .mode(Mode::Emulate)
            .guest("patched", "wild-operands", "")
            .mode(Mode::Patch)
            .line("[emulated] 20 refused operands answered with the CPU's own exceptions; still running")
            .line("[patched] 20 refused operands answered with the CPU's own exceptions; still running")
            .finishes("emulated")
            .finishes("patched"),
        contained,
        Scenario::new("virtualization-holes", HvExit::Success)
            .guest("native-holes", "holes", "ops=native")
            .mode(Mode::Emulate)
            .guest("pv-holes", "holes", "ops=pv")
            .line("[native-holes] hole: pushf after cli shows IF=1")
            .line("[native-holes] hole: popf with IF=0 did not fault and masked nothing")
            .line("[native-holes] UMIP: sidt, sgdt, smsw and str trapped and were emulated")
            .line("[pv-holes] pv: the virtual interrupt flag is the shared page's mask")
            .line("[pv-holes] pv: handlers are registered and the address space read by hypercall")
            .line("[pv-holes] pv: with UMIP a stray sidt faults to the kernel's own handler")
            .finishes("native-holes")
            .finishes("pv-holes"),
        Scenario::new("virtualization-holes-umip-off", HvExit::Success)
            .cmdline("umip=off")
            .guest("native-holes", "holes", "ops=native umip=off")
            .mode(Mode::Emulate)
            .guest("pv-holes", "holes", "ops=pv umip=off")
            .line("cpu: UMIP off (umip=off)")
            .line("[native-holes] hole: pushf after cli shows IF=1")
            .line("[native-holes] hole: without UMIP sidt shows the hypervisor's IDT at 0xffff")
            .line("[pv-holes] pv: the virtual interrupt flag is the shared page's mask")
            .finishes("native-holes")
            .finishes("pv-holes"),
        workload,
        Scenario::new("emulation-fuzz", HvExit::Success)
            .guest("fuzz-emulate", "emulation-fuzz", &format!("seed=1 count={FUZZ_INSTRUCTIONS}"))
            .mode(Mode::Emulate)
            .guest("fuzz-patch", "emulation-fuzz", &format!("seed=1 count={FUZZ_INSTRUCTIONS}"))
            .mode(Mode::Patch)
            .guest("bystander", "worker", "lines=20")
            .line(&format!("[fuzz-emulate] emulation fuzz: {FUZZ_INSTRUCTIONS} instructions from seed 1"))
            .check(both_modes_ended_alike)
            .finishes("fuzz-emulate")
            .finishes("fuzz-patch")
            .finishes("bystander")
            .forbid("FATAL"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_emulation_report() {
        let log = "hv: domain 3 'patched' (patch mode): 41 instructions emulated, 17 sites patched, 5230 patched executions\n";
        assert_eq!(emulation_report(log, "patched"), Some((41, 17, 5230)));
        assert!(patches_were_taken(log).is_ok());
        assert_eq!(emulation_report(log, "emulated"), None);
        let log = "hv: domain 2 'emulated' (emulate mode): 9 instructions emulated, 0 sites patched, 0 patched executions\n";
        assert!(nothing_was_patched(log).is_ok());
        assert!(patches_were_taken(log).is_err());
    }

    #[test]
    fn compares_the_two_fuzzers() {
        let same = "[fuzz-emulate] emulation fuzz: 5 instructions from seed 1, 2 completed\n\
            [fuzz-patch] emulation fuzz: 5 instructions from seed 1, 2 completed\n";
        assert!(both_modes_ended_alike(same).is_ok());
        let different = same.replace(
            "[fuzz-patch] emulation fuzz: 5 instructions from seed 1, 2",
            "[fuzz-patch] emulation fuzz: 5 instructions from seed 1, 3",
        );
        assert!(both_modes_ended_alike(&different).is_err());
        assert!(both_modes_ended_alike("").is_err());
    }
}
