//! Scenario guest: prints `bytes=N` bytes (default 1 MiB) through the split
//! console as numbered 64-byte lines, then the FNV-1a checksum of exactly
//! what it printed, so the test can check that everything arrived complete
//! and in order.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::checksum::Fnv1a;
use guest_kernel::{drivers, println, scenario};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const LINE: usize = 64;

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    guest_kernel::interrupts::enable();
    if drivers::console::init().is_err() {
        scenario::fail(format_args!("console attach"));
    }
    let info = scenario::start_info();
    let total = scenario::number(info.args(), "bytes", 1 << 20) as usize;
    let lines = total / LINE;
    let mut hash = Fnv1a::new();
    let mut line = [0u8; LINE];
    for number in 0..lines {
        // "data NNNNNNNN " then a payload derived from the number, then "\n".
        let head = b"data ";
        line[..5].copy_from_slice(head);
        for (i, digit) in line[5..13].iter_mut().enumerate() {
            *digit = b'0' + ((number / 10usize.pow(7 - i as u32)) % 10) as u8;
        }
        line[13] = b' ';
        for (i, byte) in line[14..LINE - 1].iter_mut().enumerate() {
            *byte = b'a' + ((number * 7 + i) % 26) as u8;
        }
        line[LINE - 1] = b'\n';
        hash.update(&line);
        drivers::console::write(&line);
    }
    println!("checksum {:016x} lines {lines}", hash.value());
    scenario::done()
}
