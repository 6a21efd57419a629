//! The same small kernel workload, done with native privileged
//! instructions (`ops=native`, for a domain in `mode=emulate` or
//! `mode=patch`) or through the hypercall interface (`ops=pv`): what each
//! operation costs, and what a whole job costs, under each technique.
//!
//! Prints `bench <operation>_<technique> <median> <samples>` for
//! `cli_sti` (masking and unmasking interrupts), `cr3_switch` (one
//! address-space switch between two warm spaces), `invlpg` (one page
//! invalidation) and `console_byte` (one byte to the console: the native
//! driver polls the UART's line status, then writes the byte), then
//! `bench workload_<technique> <total> <rounds>`: the instructions (TSC
//! ticks) of 64 rounds of a scheduler's work: mask interrupts, switch to
//! the next of three process address spaces, give the process's scratch
//! page a fresh frame (change the entry, invalidate it, touch the page,
//! which the shadow then fills), unmask, and write a status line to the
//! console (the native kernel byte by byte through the UART, the
//! paravirtual one in one call).
//!
//! Arguments: `ops=pv|native technique=NAME [after=DOMAIN]`; with `after`
//! it first sleeps until that domain has ended, so that the techniques run
//! one after another and none is measured while another runs.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use bootloader_api::{BootInfo, entry_point};
use shared_abi::page_table::{self, PageSize};

use guest_kernel::measure::{self, rdtsc, timed};
use guest_kernel::memory::paging::{self, GuestTables, PageFlags};
use guest_kernel::memory::{frames, phys_to_virt};
use guest_kernel::native::{Native, Paravirtual, Privileged};
use guest_kernel::{check, hv, println, scenario, timer};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const SAMPLES: usize = 1000;
const CONSOLE_SAMPLES: usize = 400;
const ROUNDS: u64 = 64;
const PROCESSES: usize = 3;
/// The page each process gives a fresh frame every round.
const SCRATCH: u64 = 0x5c00_0000_0000;

fn report(operation: &str, technique: &str, samples: Vec<u64>) {
    measure::report(&alloc::format!("{operation}_{technique}"), samples);
}

fn frame() -> u64 {
    frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("out of frames")))
}

/// One scheduling round's status line: `round NN`.
fn status_line(round: u64) -> [u8; 9] {
    let mut line = *b"round 00\n";
    line[6] = b'0' + (round / 10 % 10) as u8;
    line[7] = b'0' + (round % 10) as u8;
    line
}

fn measure(cpu: &impl Privileged, technique: &str) {
    let root = paging::current_root();
    let spaces: [u64; PROCESSES] = core::array::from_fn(|_| {
        paging::clone_address_space(root).unwrap_or_else(|| scenario::fail(format_args!("clone")))
    });
    for space in spaces {
        let flags = PageFlags::WRITABLE | PageFlags::NO_EXECUTE;
        if paging::map(space, SCRATCH, frame(), PageSize::Size4K, flags).is_err() {
            scenario::fail(format_args!("map the scratch page"));
        }
    }
    let mut samples = Vec::with_capacity(SAMPLES);

    samples.extend((0..SAMPLES).map(|_| {
        timed(|| {
            cpu.disable_interrupts();
            cpu.enable_interrupts();
        })
    }));
    report("cli_sti", technique, core::mem::take(&mut samples));

    for index in 0..SAMPLES {
        let next = if index % 2 == 0 { spaces[0] } else { root };
        // SAFETY: both spaces map this code, its stack and its data alike.
        samples.push(timed(|| unsafe { cpu.switch_address_space(next) }));
    }
    report("cr3_switch", technique, core::mem::take(&mut samples));
    check!(
        paging::current_root() == root,
        "back in the first address space"
    );

    samples.extend((0..SAMPLES).map(|_| timed(|| cpu.invalidate_page(SCRATCH))));
    report("invlpg", technique, core::mem::take(&mut samples));

    samples.extend((0..CONSOLE_SAMPLES).map(|_| timed(|| cpu.console_byte(b'.'))));
    cpu.console_byte(b'\n');
    report("console_byte", technique, core::mem::take(&mut samples));

    let fresh: [u64; 8] = core::array::from_fn(|_| frame());
    let start = rdtsc();
    for round in 0..ROUNDS {
        let space = spaces[round as usize % PROCESSES];
        cpu.disable_interrupts();
        // SAFETY: every process space maps this code, stack and data.
        unsafe { cpu.switch_address_space(space) };
        let frame = fresh[round as usize % fresh.len()];
        let flags = PageFlags::WRITABLE | PageFlags::NO_EXECUTE | PageFlags::USER;
        if page_table::remap(
            &mut GuestTables,
            space,
            SCRATCH,
            frame,
            PageSize::Size4K,
            flags,
        )
        .is_err()
        {
            scenario::fail(format_args!("remap the scratch page"));
        }
        cpu.invalidate_page(SCRATCH);
        let scratch = SCRATCH as *mut u64;
        // SAFETY: SCRATCH is mapped writable in every process space.
        unsafe { scratch.write_volatile(round) };
        cpu.enable_interrupts();
        cpu.console_write(&status_line(round));
    }
    let total = rdtsc() - start;
    // SAFETY: as above.
    unsafe { cpu.switch_address_space(root) };
    // Each frame holds the last round that used it.
    for (index, &frame) in fresh.iter().enumerate() {
        let round = ROUNDS - fresh.len() as u64 + index as u64;
        // SAFETY: the frame is this guest's, mapped at the physical offset.
        let value = unsafe { phys_to_virt(frame).cast::<u64>().read_volatile() };
        check!(
            value == round,
            "frame {index} holds {value}, not round {round}"
        );
    }
    println!("bench workload_{technique} {total} {ROUNDS}");
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    let info = scenario::start_info();
    let args = info.args();
    let technique = scenario::arg(args, "technique").unwrap_or("pv");
    if let Some(after) = scenario::arg(args, "after") {
        while hv::events::domain_lookup(after).is_ok() {
            timer::sleep(1_000_000);
        }
    }
    guest_kernel::interrupts::enable();
    match scenario::arg(args, "ops") {
        Some("native") => measure(&Native, technique),
        Some("pv") | None => measure(&Paravirtual, technique),
        Some(other) => scenario::fail(format_args!("unknown ops={other}")),
    }
    scenario::done()
}
