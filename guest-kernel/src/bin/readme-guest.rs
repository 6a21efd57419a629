//! A guest on the runtime alone: greets, maps a page, takes timer ticks and
//! reads a console line. The README shows this file in full.
#![no_std]
#![no_main]

use shared_abi::guest::memory::{paging, phys_to_virt};
use shared_abi::guest::{self as hv, BootInfo, console, interrupts, timer};
use shared_abi::{entry_point, println};

entry_point!(main);

fn main(boot_info: &'static mut BootInfo) -> ! {
    // Memory, virtual interrupts and the split console; first, always.
    hv::init(boot_info).expect("runtime");
    let info = hv::start_info().expect("start_info");
    println!("Hello from {}, domain {}!", info.name(), info.domain_id);

    // A fresh frame mapped where we choose, written through the new
    // mapping and read back through the physical-memory mapping.
    let page = 0x4000_0000_0000;
    let frame = paging::map_page(page, paging::PageFlags::WRITABLE).expect("map");
    // SAFETY: `page` was just mapped, writable, to a frame nothing else uses.
    unsafe { (page as *mut u64).write(0x1234_5678) };
    // SAFETY: the physical-memory mapping covers every frame of the guest.
    let seen = unsafe { phys_to_virt(frame).cast::<u64>().read() };
    println!("mapped {page:#x} to frame {frame:#x}, read back {seen:#x}");

    // A 10 ms tick, then a 50 ms sleep on the one-shot timer.
    timer::start_tick(timer::TICK_NS).expect("tick");
    interrupts::enable();
    let start = interrupts::now_ns();
    timer::sleep(50_000_000);
    let slept_ms = (interrupts::now_ns() - start) / 1_000_000;
    println!("{} ticks while sleeping {slept_ms} ms", timer::ticks());

    // A line from the console (None at end of input).
    println!("What is your name?");
    let mut buffer = [0u8; 32];
    match console::read_line(&mut buffer) {
        Some(name) => println!("Nice to meet you, {name}."),
        None => println!("No name given."),
    }
    hv::exit(0)
}
