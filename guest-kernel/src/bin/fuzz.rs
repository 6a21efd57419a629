//! Hostile scenario guest: a random hypercall fuzzer.
//!
//! Arguments: `seed=S calls=N hv=O,O,...` (`hv` lists hypervisor
//! addresses as hex offsets from `0xffff_ffff_8000_0000`; xtask reads them
//! from the hypervisor's symbol table). It prints the seed first, then
//! makes N calls drawn from `S` alone (SplitMix64), so the same seed on
//! the same build makes the same calls: it prints an FNV-1a checksum of
//! the sequence (numbers, arguments, frames) to compare runs by.
//!
//! Every number is drawn: each defined call (weighted, see
//! `guest_kernel::fuzz::plan`), `Hypercall::ALL.len()` and just past it,
//! `u64::MAX`, `1 << 63`, defined numbers with high bits set, random ones.
//! Arguments come from classes: 0, -1, small integers, powers of two,
//! unaligned addresses, non-canonical addresses, the hypervisor's direct
//! map and image window and the structures xtask names (give or take a
//! few bytes), the fuzzer's own page tables (their guest-physical addresses
//! and their virtual addresses through the physical-memory mapping, and a
//! read-only alias), the unmapped guard page below its stack, the end of
//! its memory, wrapping lengths (`u64::MAX`, `len` with `ptr + len` past
//! 2^64). Between calls it writes garbage into its shared-information
//! page; `iret` gets bogus frames (rip or rsp
//! non-canonical or in the upper half) and frame pointers that cannot be
//! read.
//!
//! Each call's result must be a non-negative value or a documented
//! `Status`, and where the ABI says exactly what the answer is (a refused
//! pointer, an unknown number, a value) it must be that answer. Anything
//! else is reported as `FAIL: seed S call #I: ...` and the domain ends
//! with code 1; so does any exception the fuzzer takes (its handlers for
//! every vector report and stop). At the end it prints a summary (calls by
//! number and the statuses seen) and `done`.
//!
//! # Calls shaped so that the fuzzer survives them
//!
//! A call that succeeds with a random argument could destroy the fuzzer
//! (the hypervisor doing what it was asked is not a bug). These are drawn
//! only in shapes it survives:
//!
//! - `shutdown` is never drawn: nothing can make it fail. It is issued
//!   once, as the last call.
//! - `block` first makes sure something wakes the fuzzer: either an event
//!   is already pending (`upcall_pending` set), or, with virtual interrupts
//!   masked until `block` unmasks them, the timer VIRQ is bound (the port
//!   rebound if a fuzzed `event_close` freed it, another port closed if the
//!   table is full), unmasked and not pending, and the timer armed 200 µs
//!   ahead.
//! - `yield` and `block` are rare (each gives away up to a 10 ms slice).
//! - `mmu_set_base` gets either a valid root (the boot root or a clone of
//!   it, which map the same) or a value it must refuse (unaligned, beyond
//!   memory, a virtual or hypervisor address); never a random page.
//! - `register_shared_info` gets either pages dedicated to it or values
//!   it must refuse: the hypervisor writes into the pages it is given.
//!   The retired calls (`block_queue_setup`, `console_attach`,
//!   `console_input`) get anything and must answer `UNKNOWN_HYPERCALL`.
//! - `set_trap_handler` and `set_callback` get 0 (remove), the fuzzer's own
//!   entry, or an upper-half or non-canonical address that must be refused;
//!   never a random lower-half address. Its exception entry reports any
//!   exception as a failure; its upcall entry takes every pending event and
//!   returns, using no register `iret` does not restore.
//! - `multicall` gets only arrays it must refuse (hostile addresses, the
//!   read-only alias of the root table, code, counts of every class), so
//!   no entry of a random array ever runs (that would be any call with any
//!   arguments, shaped by none of these rules).
//! - `start_info` writes 128 bytes: it gets hostile pointers, read-only
//!   memory (code, the alias of the root table), the page tables only with
//!   a buffer too small, or the scratch buffer; a refused write must leave
//!   the scratch buffer as it was (checked).
//! - `console_write` prints at most 16 bytes of readable memory (digits, or
//!   page-table bytes, which show as `?`), so the log stays small and can
//!   never spell a word the tests look for.
//! - `iret` runs with `rsp` at the frame pointer and virtual interrupts
//!   masked (so no upcall is pushed at a hostile `rsp`), then restores its
//!   stack. A frame it must accept resumes at a landing point right after
//!   the `syscall` on a small stack of its own, with random rax, rcx, r11,
//!   saved mask and flags (garbage in IOPL, NT, VM, VIF, VIP and the
//!   reserved bits; never TF or AC, which would trap the fuzzer itself);
//!   the landing checks the registers the frame gave (rax, rcx, r11, rsp)
//!   and that the flags carry none of IOPL, NT, VM, VIF, VIP. Frames that
//!   must be refused name a non-canonical or upper-half rip or rsp, or
//!   cannot be read.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::checksum::Fnv1a;
use guest_kernel::fuzz::garbage::{self, DIGITS};
use guest_kernel::fuzz::plan::{
    self, Call, FORBIDDEN_FLAGS, FRAME_FLAGS, How, KERNEL_WINDOW, MAX_HV, MAX_TABLES, State, Step,
    Targets,
};
use guest_kernel::fuzz::rng::Rng;
use guest_kernel::fuzz::tally::Tally;
use guest_kernel::memory::paging::{self, PageFlags, PageSize};
use guest_kernel::memory::{self, frames, phys_to_virt};
use guest_kernel::{hv, println, scenario};
use shared_abi::event::Virq;
use shared_abi::page_table::{ADDRESS_MASK, TableMemory, table_index};
use shared_abi::shared_info::MAX_PORTS;
use shared_abi::trap::{ExceptionFrame, VECTORS};
use shared_abi::{Hypercall, Status};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

/// Where the scratch buffer is mapped (unmapped pages on both sides).
const SCRATCH_VIRT: u64 = 0x0000_4400_0000_1000;
const SCRATCH_PAGES: u64 = 2;
/// Where the read-only alias of the root table is mapped.
const ALIAS_VIRT: u64 = 0x0000_4400_0010_0000;
/// A region with nothing mapped.
const UNMAPPED: u64 = 0x0000_5a00_0000_0000;
/// Calls between progress lines.
const PROGRESS_EVERY: u64 = 100_000;

/// The registered shared-information page (virtual), for the upcall entry.
static SHARED_VIRT: AtomicU64 = AtomicU64::new(0);
/// Upcalls taken.
static UPCALLS: AtomicU64 = AtomicU64::new(0);
/// The seed and the index of the call being made, for failure reports.
static SEED: AtomicU64 = AtomicU64::new(0);
static CALL_INDEX: AtomicU64 = AtomicU64::new(0);

/// What the `iret` probe saw at its landing point.
static mut IRET_SAVED_RSP: u64 = 0;
static mut IRET_RAX: u64 = 0;
static mut IRET_RCX: u64 = 0;
static mut IRET_R11: u64 = 0;
static mut IRET_RSP: u64 = 0;
static mut IRET_FLAGS: u64 = 0;

/// The fuzzer's name and the bystander's, for `domain_lookup`.
static NAMES: spin::Once<[u8; 128]> = spin::Once::new();
/// Readable digits for `console_write`.
static TEXT: [u8; 64] = *b"0123456789012345678901234567890123456789012345678901234567890123";

/// The small stack a valid `iret` frame resumes on.
#[repr(C, align(16))]
struct AltStack([u8; 4096]);
static mut ALT_STACK: AltStack = AltStack([0; 4096]);

/// The upcall entry: takes every event (clears `upcall_pending` and the
/// pending bits) and returns. It uses only `rax`, which `iret` restores.
#[unsafe(naked)]
extern "C" fn upcall_entry() {
    core::arch::naked_asm!(
        "mov rax, [rip + {shared}]",
        "test rax, rax",
        "jz 2f",
        "mov byte ptr [rax], 0",
        "mov qword ptr [rax + 128], 0",
        "2:",
        "lock inc qword ptr [rip + {upcalls}]",
        "mov eax, {iret}",
        "syscall",
        "mov edi, 104",
        "mov eax, {shutdown}",
        "syscall",
        "ud2",
        shared = sym SHARED_VIRT,
        upcalls = sym UPCALLS,
        iret = const Hypercall::Iret as u32,
        shutdown = const Hypercall::Shutdown as u32,
    )
}

/// The exception entry for every vector: the fuzzer never faults on
/// purpose, so any exception is a failure.
#[unsafe(naked)]
extern "C" fn trap_entry() {
    core::arch::naked_asm!(
        "mov rdi, rsp",
        "call {report}",
        "ud2",
        report = sym report_exception,
    )
}

extern "C" fn report_exception(frame: &ExceptionFrame) -> ! {
    fail_now(format_args!(
        "exception vector {} (error {:#x}, address {:#x}) at rip {:#x}",
        frame.vector, frame.error_code, frame.fault_address, frame.rip
    ))
}

/// Issues `iret` with `rsp` at `frame_ptr` (in `rdi`). A refused frame
/// returns right after the `syscall`; an accepted one resumes at
/// `fuzz_iret_landing` with the frame's registers. Either way the landing
/// records rax, rcx, r11, rsp and the flags, then restores the stack.
///
/// # Safety
///
/// Virtual interrupts must be masked unless `frame_ptr` is a frame that
/// resumes at the landing on a valid stack.
#[unsafe(naked)]
unsafe extern "C" fn iret_probe(frame_ptr: u64) {
    core::arch::naked_asm!(
        "mov [rip + {saved}], rsp",
        "mov rsp, rdi",
        "mov eax, {iret}",
        "syscall",
        ".global fuzz_iret_landing",
        "fuzz_iret_landing:",
        "mov [rip + {rax}], rax",
        "mov [rip + {rcx}], rcx",
        "mov [rip + {r11}], r11",
        "mov [rip + {rsp}], rsp",
        "mov rsp, [rip + {saved}]",
        "pushfq",
        "pop rax",
        "mov [rip + {flags}], rax",
        "cld",
        "ret",
        saved = sym IRET_SAVED_RSP,
        rax = sym IRET_RAX,
        rcx = sym IRET_RCX,
        r11 = sym IRET_R11,
        rsp = sym IRET_RSP,
        flags = sym IRET_FLAGS,
        iret = const Hypercall::Iret as u32,
    )
}

unsafe extern "C" {
    /// The landing point inside `iret_probe`.
    fn fuzz_iret_landing();
}

/// Arguments in hex, on one line.
struct Args([u64; 5]);

impl core::fmt::Display for Args {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let [a, b, c, d, e] = self.0;
        write!(f, "[{a:#x}, {b:#x}, {c:#x}, {d:#x}, {e:#x}]")
    }
}

/// Ends the domain with a failure report naming the seed and the call.
fn fail_now(why: core::fmt::Arguments<'_>) -> ! {
    let _ = hv::console_write(b"\n");
    println!(
        "FAIL: seed {} call #{}: {why}",
        SEED.load(Ordering::Relaxed),
        CALL_INDEX.load(Ordering::Relaxed)
    );
    println!(
        "reproduce with: cargo xtask fuzz --calls {} --seed {}",
        CALL_INDEX.load(Ordering::Relaxed) + 1,
        SEED.load(Ordering::Relaxed)
    );
    hv::shutdown(1)
}

fn raw(number: u64, args: [u64; 5]) -> i64 {
    // SAFETY: every call the fuzzer makes is shaped so that what the
    // hypervisor writes lands in memory dedicated to it (see the header);
    // pointer arguments are otherwise ones it must refuse.
    unsafe { hv::hypercall_number(number, args) }
}

/// A call the fuzzer makes to set itself up (not part of the sequence):
/// its result must be documented too.
fn setup_call(call: Hypercall, args: [u64; 5]) -> i64 {
    let result = raw(call as u64, args);
    if result < 0 && Status::from_raw(result).is_none() {
        fail_now(format_args!("setup call {} returned {result}", call.name()));
    }
    result
}

/// The fuzzer's private clock (the shared page may hold garbage).
#[derive(Clone, Copy)]
struct Clock {
    base: u64,
    stamp: u64,
    mul: u64,
}

impl Clock {
    fn now_ns(&self) -> u64 {
        // SAFETY: rdtsc is allowed in ring 3.
        let tsc = unsafe { core::arch::x86_64::_rdtsc() };
        self.base + shared_abi::shared_info::ticks_to_ns(tsc.saturating_sub(self.stamp), self.mul)
    }
}

struct Fuzzer {
    targets: Targets,
    state: State,
    clock: Clock,
    tally: Tally,
    setup_calls: u64,
    blocks_waited: u64,
    accepted_frames: u64,
    dirty_line: bool,
}

fn virt(phys: u64) -> u64 {
    phys_to_virt(phys) as u64
}

fn shared_byte(offset: u64) -> *mut u8 {
    (SHARED_VIRT.load(Ordering::Relaxed) + offset) as *mut u8
}

fn shared_u64(offset: u64) -> *mut u64 {
    (SHARED_VIRT.load(Ordering::Relaxed) + offset) as *mut u64
}

impl Fuzzer {
    /// Issues `call` and checks its result.
    fn issue(&mut self, index: u64, call: &Call) {
        let number = call.number;
        let result = match call.how {
            How::Skipped => {
                self.tally.skip(number);
                return;
            }
            How::Plain => raw(number, call.args),
            How::TimerFromNow => {
                let mut args = call.args;
                args[0] = self.clock.now_ns().wrapping_add(args[0]);
                raw(number, args)
            }
            How::Block { wait } => {
                self.prepare_block(wait);
                raw(number, call.args)
            }
            How::Iret { frame_ptr, frame } => self.iret(frame_ptr, frame),
        };
        let documented = result >= 0 || Status::from_raw(result).is_some();
        if !documented || !call.expect.met_by(result) {
            let name = Hypercall::from_number(number).map_or("unknown", Hypercall::name);
            let why = match documented {
                true => "not what the ABI promises",
                false => "not a documented status",
            };
            fail_now(format_args!(
                "{name} ({number:#x}) args {} returned {result}: {why} (expected {:?})",
                Args(call.args),
                call.expect,
            ));
        }
        self.tally.record(number, result);
        if result >= 0 {
            self.after_success(call, result);
        }
        if let Some((start, end)) = call.untouched
            && result < 0
        {
            check_scratch(start, end, index);
        }
    }

    /// Follows what a successful call changed.
    fn after_success(&mut self, call: &Call, result: i64) {
        let args = call.args;
        match Hypercall::from_number(call.number) {
            Some(Hypercall::MmuSetBase) => self.state.root = args[0],
            Some(Hypercall::RegisterSharedInfo) => {
                self.state.shared = args[0];
                SHARED_VIRT.store(virt(args[0]), Ordering::SeqCst);
            }
            Some(Hypercall::StartInfo | Hypercall::DomainName) => fill_scratch(&self.targets),
            Some(Hypercall::ConsoleWrite) if result > 0 => self.dirty_line = true,
            _ => {}
        }
    }

    /// Makes sure `block` returns: an event already pending, or the timer
    /// VIRQ bound, unmasked, not pending and armed (with virtual interrupts
    /// masked, so that its event stays pending until `block`).
    fn prepare_block(&mut self, wait: bool) {
        if !wait {
            // SAFETY: the registered shared page is the fuzzer's own.
            unsafe { shared_byte(0).write_volatile(1) };
            return;
        }
        // Masked until `block` unmasks and sleeps atomically: an upcall
        // taken in between would consume the timer's event and leave
        // nothing to wake the fuzzer.
        // SAFETY: as above.
        unsafe { shared_byte(1).write_volatile(1) };
        let port = self.timer_port();
        let bit = 1u64 << port;
        // SAFETY: as above; mask and pending words of the shared page.
        unsafe {
            shared_u64(136).write_volatile(shared_u64(136).read_volatile() & !bit);
            shared_u64(128).write_volatile(shared_u64(128).read_volatile() & !bit);
            shared_byte(0).write_volatile(0);
        }
        let deadline = self.clock.now_ns() + 200_000;
        self.setup(Hypercall::SetTimer, [deadline, 0, 0, 0, 0]);
        self.blocks_waited += 1;
    }

    fn setup(&mut self, call: Hypercall, args: [u64; 5]) -> i64 {
        self.setup_calls += 1;
        setup_call(call, args)
    }

    /// The port bound to the timer VIRQ, binding one if needed.
    fn timer_port(&mut self) -> u64 {
        for _ in 0..2 {
            let result = self.setup(Hypercall::EventBindVirq, [Virq::Timer as u64, 0, 0, 0, 0]);
            if result >= 0 {
                return result as u64;
            }
            if result == Status::AlreadyBound as i64 {
                for port in 1..MAX_PORTS as u64 {
                    let status = self.setup(Hypercall::EventStatus, [port, 0, 0, 0, 0]);
                    let decoded = shared_abi::event::PortStatus::decode(status as u64);
                    if status >= 0
                        && decoded.is_some_and(|s| {
                            s.state == shared_abi::event::PortState::Virq
                                && s.remote_domain_or_virq == Virq::Timer as u16
                        })
                    {
                        return port;
                    }
                }
                fail_now(format_args!("the timer VIRQ is bound to no port"));
            }
            // The table is full: free the last port.
            self.setup(Hypercall::EventClose, [MAX_PORTS as u64 - 1, 0, 0, 0, 0]);
        }
        fail_now(format_args!("cannot bind the timer VIRQ"))
    }

    /// `iret` with `rsp` at `frame_ptr`, and the landing's checks.
    fn iret(&mut self, frame_ptr: u64, frame: Option<ExceptionFrame>) -> i64 {
        if let Some(frame) = frame {
            let bytes = frame.to_bytes();
            // SAFETY: frames are built in the fuzzer's dedicated frame page
            // (`plan::frame_slot` keeps all 80 bytes inside it).
            unsafe {
                core::ptr::copy_nonoverlapping(bytes.as_ptr(), frame_ptr as *mut u8, bytes.len())
            };
        }
        // SAFETY: the registered shared page is the fuzzer's own. Masking
        // keeps an upcall from being pushed at a hostile rsp when the frame
        // is refused.
        unsafe { shared_byte(1).write_volatile(1) };
        // SAFETY: virtual interrupts are masked; an accepted frame (built
        // by `plan::random_frame`) resumes at the landing on the small
        // stack, and the probe restores its own stack either way.
        unsafe { iret_probe(frame_ptr) };
        // SAFETY: written by the probe just now; nothing else touches them.
        let (rax, rcx, r11, rsp, flags) =
            unsafe { (IRET_RAX, IRET_RCX, IRET_R11, IRET_RSP, IRET_FLAGS) };
        let result = rax as i64;
        if let Some(frame) = frame
            && rax == frame.rax
            && frame.rip == self.targets.landing
        {
            self.accepted_frames += 1;
            let allowed = frame.rflags & FRAME_FLAGS;
            let problem = if rcx != frame.rcx || r11 != frame.r11 {
                Some("rcx or r11 not restored from the frame")
            } else if rsp != frame.rsp {
                Some("rsp not restored from the frame")
            } else if flags & FORBIDDEN_FLAGS != 0 {
                Some("the flags kept IOPL, NT, VM, VIF or VIP")
            } else if flags & 0x200 == 0 {
                Some("interrupts disabled after iret")
            } else if flags & FRAME_FLAGS != allowed {
                Some("the arithmetic flags differ from the frame's")
            } else {
                None
            };
            if let Some(problem) = problem {
                fail_now(format_args!(
                    "iret with frame {frame:x?} resumed with rcx {rcx:#x} r11 {r11:#x} rsp {rsp:#x} rflags {flags:#x}: {problem}"
                ));
            }
        }
        result
    }

    /// Prints a line of the fuzzer's own, on a line of its own.
    fn break_line(&mut self) {
        if self.dirty_line {
            let _ = hv::console_write(b"\n");
            self.dirty_line = false;
        }
    }
}

/// The scratch buffer's pattern: digits.
fn fill_scratch(t: &Targets) {
    for offset in 0..t.scratch_len {
        // SAFETY: the scratch buffer is the fuzzer's, mapped writable.
        unsafe { ((t.scratch + offset) as *mut u8).write_volatile(DIGITS[(offset % 10) as usize]) };
    }
}

/// A refused write must have left `[start, end)` of the scratch buffer
/// untouched.
fn check_scratch(start: u64, end: u64, index: u64) {
    for addr in start..end {
        // SAFETY: as in fill_scratch.
        let byte = unsafe { (addr as *const u8).read_volatile() };
        if byte != DIGITS[((addr - SCRATCH_VIRT) % 10) as usize] {
            fail_now(format_args!(
                "a refused write changed the scratch buffer at {addr:#x} (call #{index})"
            ));
        }
    }
}

/// The page tables on the way to `virt` in `root` (guest-physical).
fn tables_on_path(root: u64, virt: u64, out: &mut [u64; MAX_TABLES], count: &mut usize) {
    let tables = paging::GuestTables;
    let mut table = root;
    for level in (0..4).rev() {
        if !out[..*count].contains(&table) && *count < MAX_TABLES {
            out[*count] = table;
            *count += 1;
        }
        if level == 0 {
            return;
        }
        let entry = tables.read_entry(table, table_index(virt, level));
        let flags = PageFlags::from_bits_retain(entry);
        if !flags.contains(PageFlags::PRESENT) || flags.contains(PageFlags::HUGE) {
            return;
        }
        table = entry & ADDRESS_MASK;
    }
}

fn parse_number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn allocate() -> u64 {
    frames::allocate().unwrap_or_else(|| fail_now(format_args!("out of frames")))
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    let info = scenario::start_info();
    let args = info.args();
    let seed = scenario::arg(args, "seed")
        .and_then(parse_number)
        .unwrap_or(1);
    let calls = scenario::arg(args, "calls")
        .and_then(parse_number)
        .unwrap_or(1000);
    SEED.store(seed, Ordering::Relaxed);
    let mut hv_addresses = [0u64; MAX_HV];
    let mut hv_count = 0;
    for offset in scenario::arg(args, "hv")
        .unwrap_or("")
        .split(',')
        .filter_map(|word| u64::from_str_radix(word, 16).ok())
        .take(MAX_HV)
    {
        hv_addresses[hv_count] = KERNEL_WINDOW + offset;
        hv_count += 1;
    }

    println!("seed {seed}: {calls} calls, {hv_count} hypervisor addresses");

    memory::init(boot_info);
    let physmap = boot_info
        .physical_memory_offset
        .into_option()
        .unwrap_or_else(|| fail_now(format_args!("no physical-memory mapping")));
    let root = paging::current_root();

    // Dedicated pages.
    let shared = [allocate(), allocate()];
    let frames_page = allocate();
    let scratch_frames = [allocate(), allocate()];
    let writable = PageFlags::WRITABLE | PageFlags::NO_EXECUTE;
    for (index, frame) in scratch_frames.into_iter().enumerate() {
        let at = SCRATCH_VIRT + index as u64 * 4096;
        if paging::map(root, at, frame, PageSize::Size4K, writable).is_err() {
            fail_now(format_args!("cannot map the scratch buffer"));
        }
    }
    if paging::map(
        root,
        ALIAS_VIRT,
        root,
        PageSize::Size4K,
        PageFlags::NO_EXECUTE,
    )
    .is_err()
    {
        fail_now(format_args!("cannot map the alias of the root table"));
    }
    let clone = paging::clone_address_space(root)
        .unwrap_or_else(|| fail_now(format_args!("cannot clone the address space")));
    let mut tables = [0u64; MAX_TABLES];
    let mut table_count = 0;
    let stack_probe = 0u64;
    let stack = &raw const stack_probe as u64;
    for address in [
        SCRATCH_VIRT,
        ALIAS_VIRT,
        physmap,
        stack,
        main as *const () as u64,
    ] {
        tables_on_path(root, address, &mut tables, &mut table_count);
    }

    // Names for domain_lookup.
    let own = info.name().as_bytes();
    let peer_name = b"bystander";
    let names = NAMES.call_once(|| {
        let mut names = [0u8; 128];
        names[..own.len()].copy_from_slice(own);
        names[64..64 + peer_name.len()].copy_from_slice(peer_name);
        names
    });
    let names_at = names.as_ptr() as u64;
    let peer_id = hv::events::domain_lookup("bystander").map_or(0, u64::from);

    let sectors = hv::devices::block_info();
    let targets = Targets {
        domain_id: info.domain_id as u64,
        peer_id,
        memory_bytes: info.memory_bytes,
        physmap,
        roots: [root, clone],
        tables,
        table_count,
        ro_alias: ALIAS_VIRT,
        text: TEXT.as_ptr() as u64,
        text_len: TEXT.len() as u64,
        names: [
            (names_at, own.len() as u64),
            (names_at + 64, peer_name.len() as u64),
        ],
        scratch: SCRATCH_VIRT,
        scratch_len: SCRATCH_PAGES * 4096,
        code: main as *const () as u64,
        stack_guard: boot_info.kernel_stack_bottom - 4096,
        unmapped: UNMAPPED,
        hv: hv_addresses,
        hv_count,
        shared,
        frames: virt(frames_page),
        alt_stack_top: (&raw const ALT_STACK) as u64 + 4096,
        landing: fuzz_iret_landing as *const () as u64,
        trap_entry: trap_entry as *const () as u64,
        upcall_entry: upcall_entry as *const () as u64,
        sectors,
    };
    // What the plan takes for unmapped must be unmapped.
    for address in [
        0,
        4095,
        UNMAPPED,
        targets.stack_guard,
        physmap + info.memory_bytes,
        SCRATCH_VIRT - 4096,
        SCRATCH_VIRT + targets.scratch_len,
        ALIAS_VIRT + 4096,
    ] {
        if paging::translate(root, address).is_some() {
            fail_now(format_args!(
                "{address:#x} is mapped; the fuzzer assumes it is not"
            ));
        }
    }

    // Set up: the shared page, the handlers, the patterns.
    if setup_call(Hypercall::RegisterSharedInfo, [shared[0], 0, 0, 0, 0]) != 0 {
        fail_now(format_args!("register_shared_info failed"));
    }
    SHARED_VIRT.store(virt(shared[0]), Ordering::SeqCst);
    // SAFETY: the page was just registered; the hypervisor wrote its time.
    let clock = unsafe {
        let time = &(*(virt(shared[0]) as *const shared_abi::shared_info::SharedInfo)).time;
        Clock {
            base: time.system_time_ns.load(Ordering::SeqCst),
            stamp: time.tsc_timestamp.load(Ordering::SeqCst),
            mul: time.tsc_to_ns_mul.load(Ordering::SeqCst),
        }
    };
    for vector in 0..VECTORS {
        setup_call(
            Hypercall::SetTrapHandler,
            [vector, targets.trap_entry, 0, 0, 0],
        );
    }
    setup_call(Hypercall::SetCallback, [targets.upcall_entry, 0, 0, 0, 0]);
    fill_scratch(&targets);

    let mut fuzzer = Fuzzer {
        targets,
        state: State {
            root,
            shared: shared[0],
        },
        clock,
        tally: Tally::new(),
        setup_calls: 0,
        blocks_waited: 0,
        accepted_frames: 0,
        dirty_line: false,
    };
    let mut rng = Rng::new(seed);
    let mut sequence = Fnv1a::new();
    let mut garbage_writes = 0u64;
    let mut index = 0;
    while index < calls {
        match plan::next_step(&mut rng, &fuzzer.targets, &fuzzer.state) {
            Step::Garbage(kind) => {
                sequence.update(&[0xff, kind as u8]);
                garbage::write(kind, &mut rng, &fuzzer.state, virt);
                garbage_writes += 1;
            }
            Step::Call(call) => {
                CALL_INDEX.store(index, Ordering::Relaxed);
                hash_call(&mut sequence, &call);
                fuzzer.issue(index, &call);
                index += 1;
                if index % PROGRESS_EVERY == 0 {
                    fuzzer.break_line();
                    println!("{index} calls");
                }
            }
        }
    }
    CALL_INDEX.store(index, Ordering::Relaxed);

    let _ = hv::console_write(b"\n");
    println!(
        "seed {seed}: {index} calls, sequence checksum {:016x}",
        sequence.value()
    );
    fuzzer.tally.print();
    println!(
        "{garbage_writes} garbage writes, {} upcalls taken, {} frames accepted by iret, {} blocks waited on a timer, {} setup calls",
        UPCALLS.load(Ordering::Relaxed),
        fuzzer.accepted_frames,
        fuzzer.blocks_waited,
        fuzzer.setup_calls
    );
    scenario::done()
}

fn hash_call(sequence: &mut Fnv1a, call: &Call) {
    sequence.update(&call.number.to_le_bytes());
    for arg in call.args {
        sequence.update(&arg.to_le_bytes());
    }
    match call.how {
        How::Plain => sequence.update(&[0]),
        How::TimerFromNow => sequence.update(&[1]),
        How::Block { wait } => sequence.update(&[2, wait as u8]),
        How::Iret { frame_ptr, frame } => {
            sequence.update(&[3]);
            sequence.update(&frame_ptr.to_le_bytes());
            if let Some(frame) = frame {
                sequence.update(&frame.to_bytes());
            }
        }
        How::Skipped => sequence.update(&[4]),
    }
}
