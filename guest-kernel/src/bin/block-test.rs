//! Scenario guest: the block driver end to end. Writes patterns at the
//! first and last sectors of its virtual disk, flushes, reads them back,
//! checks that requests beyond the disk fail, keeps several requests in
//! flight, reads and writes byte buffers through the runtime's sector
//! helpers, and reads the device identifier. With `mode=persist` it writes
//! and flushes a pattern and waits to be killed; with `mode=verify` it
//! checks the pattern a previous boot left (persistence).
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::drivers::block::{self, BlockError, MAX_IN_FLIGHT};
use guest_kernel::{check, interrupts, println, scenario};
use shared_abi::block::{BlockRequestType, BlockStatus};
use shared_abi::guest::disk;

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const BYTES: u32 = 4096;

fn fill(bytes: &mut [u8], seed: u8) {
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = (index as u8).wrapping_mul(31).wrapping_add(seed);
    }
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    interrupts::enable();
    let sectors =
        block::init().unwrap_or_else(|e| scenario::fail(format_args!("block init: {e:?}")));
    let info = scenario::start_info();
    let last = sectors - (BYTES as u64 / block::SECTOR);
    let (out_phys, out) = scenario::page();
    let (in_phys, input) = scenario::page();
    let seed = info.domain_id as u8;

    if scenario::arg(info.args(), "mode") == Some("verify") {
        fill(out, seed ^ 0x5a);
        check!(block::read(last, in_phys, BYTES).is_ok(), "read last");
        check!(
            input == out,
            "the pattern a previous boot flushed is on disk"
        );
        println!("pattern from the previous boot found at sector {last}");
        scenario::done();
    }

    if scenario::arg(info.args(), "mode") == Some("persist") {
        fill(out, seed ^ 0x5a);
        check!(block::write(last, out_phys, BYTES).is_ok(), "write last");
        check!(block::flush().is_ok(), "flush");
        println!("flushed; waiting to be killed");
        guest_kernel::drivers::console::flush();
        // Stay runnable (a domain blocked with nothing to wake it would
        // end the run before the kill comes).
        loop {
            guest_kernel::hv::yield_now();
        }
    }

    println!("virtual disk: {sectors} sectors");
    for (sector, salt) in [(0, 0u8), (last, 0x5a)] {
        fill(out, seed ^ salt);
        check!(
            block::write(sector, out_phys, BYTES).is_ok(),
            "write at {sector}"
        );
    }
    check!(block::flush().is_ok(), "flush");
    for (sector, salt) in [(0, 0u8), (last, 0x5a)] {
        fill(out, seed ^ salt);
        input.fill(0);
        check!(
            block::read(sector, in_phys, BYTES).is_ok(),
            "read at {sector}"
        );
        check!(input == out, "sector {sector} reads back what was written");
    }
    println!("first and last sectors written, flushed and read back");

    let io_error = Err(BlockError::Status(BlockStatus::IoError as u8));
    check!(
        block::read(sectors, in_phys, 512) == io_error,
        "a read beyond the disk fails"
    );
    check!(
        block::read(sectors - 4, in_phys, BYTES) == io_error,
        "a read across the end fails"
    );
    check!(
        block::write(u64::MAX / 512, out_phys, 512) == io_error,
        "a write far beyond fails"
    );
    println!("requests outside the virtual disk fail with an I/O error");

    let tickets: [_; MAX_IN_FLIGHT] = core::array::from_fn(|i| {
        block::submit(BlockRequestType::In, i as u64 * 8, Some((in_phys, BYTES)))
            .unwrap_or_else(|e| scenario::fail(format_args!("submit {i}: {e:?}")))
    });
    check!(
        block::submit(BlockRequestType::In, 0, Some((in_phys, BYTES))) == Err(BlockError::Busy),
        "queue full"
    );
    for ticket in tickets {
        check!(block::wait(ticket).is_ok(), "in-flight read");
    }
    println!("{MAX_IN_FLIGHT} requests in flight at once completed");

    // The runtime's byte-buffer helpers, over more than their one-page
    // bounce frame; each sector holds different bytes.
    let mut pattern = [0u8; 6144];
    for (index, byte) in pattern.iter_mut().enumerate() {
        *byte = (index as u8) ^ (index / 512) as u8 ^ seed;
    }
    check!(
        disk::write_sectors(64, &pattern).is_ok(),
        "disk::write_sectors"
    );
    let mut back = [0u8; 6144];
    check!(
        disk::read_sectors(64, &mut back).is_ok(),
        "disk::read_sectors"
    );
    check!(back == pattern, "12 sectors read back as written");
    check!(
        block::read(72, in_phys, 2048).is_ok() && input[..2048] == pattern[4096..],
        "the second page is at sector 72"
    );
    check!(
        disk::read_sectors(0, &mut [0u8; 100]) == Err(BlockError::Length),
        "a partial sector is refused"
    );
    println!("12 sectors written and read back as byte buffers");

    let ticket = block::submit(BlockRequestType::GetId, 0, Some((in_phys, 20)))
        .unwrap_or_else(|_| scenario::fail(format_args!("get-id")));
    check!(block::wait(ticket).is_ok(), "get-id");
    check!(input.starts_with(b"pvhv-disk-"), "device id");
    let id = input[..20].split(|b| *b == 0).next().unwrap_or(&[]);
    println!("device id {}", core::str::from_utf8(id).unwrap_or("?"));
    scenario::done()
}
