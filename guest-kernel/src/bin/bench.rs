//! Bench guest: measures, in CPU cycles (rdtsc, median of many samples),
//! what hypercalls, shadow paging and virtual interrupts cost a guest, and
//! the baselines to compare with. Prints one `bench <metric> <median>
//! <samples>` line per figure; `cargo xtask bench` turns them into a table
//! and `target/bench.json`. Needs the hypervisor's `hv_bench` option (for
//! the bare syscall and bare fault baselines) and a second domain named
//! `echo` running `ping-pong role=pong peer=bench` (for the cross-domain
//! figure). Its last figure is the bytes of its own page tables at exit,
//! next to which the hypervisor reports the bytes of its shadow tables.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use bootloader_api::{BootInfo, entry_point};
use core::sync::atomic::{AtomicU64, Ordering};

use guest_kernel::interrupts::{self, now_ns};
use guest_kernel::measure::{rdtsc, report, timed};
use guest_kernel::memory::paging::{self, PageFlags, PageSize};
use guest_kernel::memory::{self, frames};
use guest_kernel::{bench_user, hv, println, scenario};
use shared_abi::bench::{BARE_SYSCALL, FAULT_PROBE_ADDRESS};
use shared_abi::event::Virq;
use shared_abi::hypercall::FlushScope;
use shared_abi::hypercall::request::AbiVersion;
use shared_abi::multicall::MulticallEntry;
use shared_abi::trap::ExceptionFrame;

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const SAMPLES: usize = 2000;
/// Null calls in the batch `multicall_per_call` times.
const BATCH: usize = 32;
/// Pages mapped in the guest's tables but never shadowed before a touch.
const HIDDEN: u64 = 0x5800_0000_0000;
const HIDDEN_PAGES: u64 = 500;
/// Pages never mapped: every touch is reflected to the guest.
const REFLECTED: u64 = 0x5900_0000_0000;

/// Reads `addr`; a fault on it resumes at the instruction after the read
/// (its address is in rcx), whoever handles it.
fn touch(addr: u64) {
    // SAFETY: the read may fault; both the hypervisor's probe and the
    // guest's handler resume at label 2, whose address is in rcx.
    unsafe {
        core::arch::asm!(
            "lea rcx, [rip + 2f]",
            "mov rax, [{addr}]",
            "2:",
            addr = in(reg) addr,
            out("rax") _,
            out("rcx") _,
        );
    }
}

/// Reflected faults resume at the landing address in rcx.
fn skip_reflected(frame: &mut ExceptionFrame) -> bool {
    if (REFLECTED..REFLECTED + 0x1000).contains(&frame.fault_address) {
        frame.rip = frame.rcx;
        return true;
    }
    false
}

static HANDLED_AT: AtomicU64 = AtomicU64::new(0);
static EVENTS: AtomicU64 = AtomicU64::new(0);

fn stamp(_port: u32) {
    HANDLED_AT.store(rdtsc(), Ordering::SeqCst);
    EVENTS.fetch_add(1, Ordering::SeqCst);
}

fn bare_syscall() {
    // SAFETY: with hv_bench the hypervisor returns at once, touching
    // nothing; rcx and r11 are clobbered by syscall/sysret.
    unsafe {
        core::arch::asm!("syscall", inlateout("rax") BARE_SYSCALL => _, out("rcx") _, out("r11") _);
    }
}

fn percentile(samples: &mut [u64], percent: usize) -> u64 {
    samples.sort_unstable();
    samples[(samples.len() - 1) * percent / 100]
}

/// Virtual interrupts: events in one domain and across domains, the upcall
/// round trip, and timer lateness.
fn event_figures(samples: &mut Vec<u64>) {
    let me = scenario::start_info().domain_id;
    let echo = scenario::find_domain("echo");
    // Port 1 is offered to the echo domain (it binds port 1).
    let to_echo =
        hv::events::alloc_unbound(echo).unwrap_or_else(|_| scenario::fail(format_args!("alloc")));
    let a = hv::events::alloc_unbound(me).unwrap_or_else(|_| scenario::fail(format_args!("alloc")));
    let b = hv::events::bind_interdomain(me, a)
        .unwrap_or_else(|_| scenario::fail(format_args!("bind")));
    interrupts::on_port(b, stamp);
    interrupts::on_port(to_echo, stamp);
    interrupts::enable();

    let mut round_trips = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let start = rdtsc();
        let _ = hv::events::send(a);
        let end = rdtsc();
        samples.push(HANDLED_AT.load(Ordering::SeqCst).wrapping_sub(start));
        round_trips.push(end.wrapping_sub(start));
    }
    report("event_same_domain", core::mem::take(samples));
    report("upcall_round_trip", round_trips);

    while hv::events::status(to_echo).map(|s| s.state)
        != Ok(shared_abi::event::PortState::Interdomain)
    {
        hv::yield_now();
    }
    for round in 1..=SAMPLES as u64 {
        let before = EVENTS.load(Ordering::SeqCst);
        let start = rdtsc();
        let _ = hv::events::send(to_echo);
        interrupts::wait_for_event(|| EVENTS.load(Ordering::SeqCst) > before);
        samples.push(HANDLED_AT.load(Ordering::SeqCst).wrapping_sub(start));
        let _ = round;
    }
    report("event_cross_domain_round_trip", core::mem::take(samples));
    let _ = hv::events::close(to_echo);

    let timer = interrupts::bind_virq(Virq::Timer, stamp)
        .unwrap_or_else(|_| scenario::fail(format_args!("bind timer")));
    let mut lateness = Vec::with_capacity(200);
    for _ in 0..200 {
        let before = EVENTS.load(Ordering::SeqCst);
        let deadline = now_ns() + 1_000_000;
        let _ = hv::events::set_timer(deadline);
        interrupts::wait_for_event(|| EVENTS.load(Ordering::SeqCst) > before);
        lateness.push(now_ns().saturating_sub(deadline));
    }
    let median = percentile(&mut lateness, 50);
    let jitter = percentile(&mut lateness, 95) - percentile(&mut lateness, 5);
    println!("bench timer_lateness_ns {median} {}", lateness.len());
    println!("bench timer_jitter_ns {jitter} {}", lateness.len());
    let _ = hv::events::close(timer);
    interrupts::disable();
}

/// Bytes each console figure writes.
const CONSOLE_BYTES: usize = 16 * 1024;

/// Console throughput and guest cycles per byte: the split console against
/// the early (hypercall) console, as `NAME_split_...` and `NAME_early_...`.
/// The split console needs a console server (the driver domain): without
/// one only the early console is measured. The raw UART figure comes from
/// the hypervisor itself, in the first boot.
fn console_figures(name: &str) {
    interrupts::enable();
    if guest_kernel::drivers::console::init().is_err() {
        scenario::fail(format_args!("console init"));
    }
    let hz = interrupts::shared().time.tsc_hz.load(Ordering::Relaxed);
    let mut line = [b'c'; 64];
    line[63] = b'\n';
    let lines = CONSOLE_BYTES / line.len();

    if guest_kernel::drivers::console::connected() {
        line[..6].copy_from_slice(b"split ");
        let blocked_before = interrupts::blocked_cycles();
        let start = rdtsc();
        for _ in 0..lines {
            guest_kernel::drivers::console::write(&line);
        }
        guest_kernel::drivers::console::flush();
        let elapsed = rdtsc() - start;
        let busy = elapsed - (interrupts::blocked_cycles() - blocked_before);
        println!(
            "bench {name}_split_bytes_per_s {} 1",
            CONSOLE_BYTES as u64 * hz / elapsed.max(1)
        );
        println!(
            "bench {name}_split_cycles_per_byte {} {CONSOLE_BYTES}",
            busy / CONSOLE_BYTES as u64
        );
    }

    line[..6].copy_from_slice(b"early ");
    let start = rdtsc();
    for _ in 0..lines {
        let _ = hv::console_write(&line);
    }
    let elapsed = rdtsc() - start;
    println!(
        "bench {name}_early_bytes_per_s {} 1",
        CONSOLE_BYTES as u64 * hz / elapsed.max(1)
    );
    println!(
        "bench {name}_early_cycles_per_byte {} {CONSOLE_BYTES}",
        elapsed / CONSOLE_BYTES as u64
    );
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_memory(boot_info, Some(skip_reflected));
    if let Err(status) = interrupts::init() {
        scenario::fail(format_args!("interrupts::init: {}", status.name()));
    }
    // Beside a driver domain serving the console: only the console figures,
    // named for it.
    if scenario::arg(scenario::start_info().args(), "only") == Some("console") {
        console_figures("console_served");
        scenario::done();
    }
    let mut samples = Vec::with_capacity(SAMPLES);

    samples.extend((0..SAMPLES).map(|_| timed(bare_syscall)));
    report("bare_syscall", core::mem::take(&mut samples));

    samples.extend((0..SAMPLES).map(|_| {
        timed(|| {
            let _ = hv::abi_version();
        })
    }));
    report("null_hypercall", core::mem::take(&mut samples));

    let mut batch = [MulticallEntry::new(AbiVersion); BATCH];
    samples.extend((0..SAMPLES).map(|_| {
        // The hypercall's own cost: the safe wrapper's check of each number
        // is left out (the batch holds only abi_version).
        timed(|| {
            // SAFETY: abi_version takes no pointer.
            let _ = unsafe { hv::multicall_unchecked(&mut batch) };
        }) / BATCH as u64
    }));
    if batch
        .iter()
        .any(|entry| entry.result != shared_abi::ABI_VERSION as i64)
    {
        scenario::fail(format_args!("multicall: a batched abi_version went wrong"));
    }
    report("multicall_per_call", core::mem::take(&mut samples));

    samples.extend((0..SAMPLES).map(|_| timed(|| touch(FAULT_PROBE_ADDRESS))));
    report("bare_fault", core::mem::take(&mut samples));

    let root = paging::current_root();
    let frame = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    for page in 0..HIDDEN_PAGES {
        let virt = HIDDEN + page * 4096;
        if paging::map(root, virt, frame, PageSize::Size4K, PageFlags::NO_EXECUTE).is_err() {
            scenario::fail(format_args!("map {virt:#x}"));
        }
    }
    samples.reserve(SAMPLES * 2);
    while samples.len() < SAMPLES * 2 {
        hv::mmu_flush(FlushScope::Current);
        // Warm the code and stack shadows again before timing.
        touch(HIDDEN);
        for page in 1..HIDDEN_PAGES {
            let sample = timed(|| touch(HIDDEN + page * 4096));
            samples.push(sample);
        }
    }
    report("hidden_fault", core::mem::take(&mut samples));

    samples.extend((0..SAMPLES).map(|_| timed(|| touch(REFLECTED))));
    report("reflected_fault", core::mem::take(&mut samples));
    // The hidden pages go again, invalidated in batches.
    let unmapped = paging::unmap_range(root, HIDDEN, HIDDEN_PAGES, |_, _| {});
    if unmapped != HIDDEN_PAGES {
        scenario::fail(format_args!("unmapped {unmapped} hidden pages"));
    }

    let other = paging::clone_address_space(root)
        .unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    for _ in 0..SAMPLES / 2 {
        samples.push(timed(|| {
            let _ = hv::mmu_set_base(other);
        }));
        samples.push(timed(|| {
            let _ = hv::mmu_set_base(root);
        }));
    }
    report("switch_warm", core::mem::take(&mut samples));

    // More roots than the hypervisor caches (8): every switch misses.
    let roots: Vec<u64> = (0..10)
        .filter_map(|_| paging::clone_address_space(root))
        .collect();
    for index in 0..SAMPLES {
        let next = roots[index % roots.len()];
        samples.push(timed(|| {
            let _ = hv::mmu_set_base(next);
        }));
    }
    report("switch_cold", core::mem::take(&mut samples));
    let _ = hv::mmu_set_base(root);
    let mut spaces = SPACES.lock();
    spaces.extend([root, other]);
    spaces.extend(&roots);
    drop(spaces);
    bench_user::run_then(rest)
}

/// The guest's address spaces, for its table bytes at exit.
static SPACES: spin::Mutex<Vec<u64>> = spin::Mutex::new(Vec::new());

/// The figures after the guest-user ones (on the stack those left the
/// kernel on).
extern "C" fn rest() -> ! {
    let (system_calls, switches) = bench_user::take_figures();
    report("user_syscall", system_calls);
    report("process_switch", switches);
    let mut samples = Vec::with_capacity(SAMPLES);
    event_figures(&mut samples);
    console_figures("console");
    // The guest's tables as they stand at exit, where the hypervisor
    // reports its shadow tables (`shadow table bytes at exit`).
    let spaces = SPACES.lock();
    println!("bench guest_table_bytes {} 1", memory::table_bytes(&spaces));
    scenario::done()
}
