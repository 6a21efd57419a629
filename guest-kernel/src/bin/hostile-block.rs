//! Hostile scenario guest: sets up its block queue, then makes a request
//! the backend must refuse without harm, chosen by `mode=`: `outside` (a
//! data buffer beyond guest memory), `loop` (a descriptor chain that points
//! back at itself), `huge` (a 4 GiB buffer), `index` (an available index
//! far ahead of the queue). The backend disconnects the queue and says why;
//! the guest carries on and ends normally.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::drivers::block;
use guest_kernel::memory::{frames, phys_to_virt};
use guest_kernel::{hv, interrupts, scenario, timer};
use shared_abi::virtqueue::{DESC_F_NEXT, DESC_F_WRITE, Descriptor, Layout};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const SIZE: u16 = 8;

fn write<T>(phys: u64, value: T) {
    // SAFETY: every address used is in a frame this guest allocated.
    unsafe { phys_to_virt(phys).cast::<T>().write_volatile(value) }
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    interrupts::enable();
    timer::init();
    // Bind the block VIRQ and learn the disk through the normal driver,
    // then register a queue of our own making.
    if block::init().is_err() {
        scenario::fail(format_args!("no disk"));
    }
    let page = || frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("frame")));
    let (table, available, used, data) = (page(), page(), page(), page());
    if let Err(status) = hv::devices::block_queue_setup(table, available, used, SIZE) {
        scenario::fail(format_args!("queue setup: {}", status.name()));
    }
    let info = scenario::start_info();
    let mode = scenario::arg(info.args(), "mode").unwrap_or("outside");
    let header = Descriptor {
        addr: data,
        len: 16,
        flags: DESC_F_NEXT,
        next: 1,
    };
    let status = Descriptor {
        addr: data + 64,
        len: 1,
        flags: DESC_F_WRITE,
        next: 0,
    };
    let body = match mode {
        "outside" => Descriptor {
            addr: info.memory_bytes + 4096,
            len: 512,
            flags: DESC_F_NEXT | DESC_F_WRITE,
            next: 2,
        },
        "loop" => Descriptor {
            addr: data + 512,
            len: 512,
            flags: DESC_F_NEXT | DESC_F_WRITE,
            next: 0,
        },
        "huge" => Descriptor {
            addr: data + 512,
            len: u32::MAX,
            flags: DESC_F_NEXT | DESC_F_WRITE,
            next: 2,
        },
        _ => Descriptor {
            addr: data + 512,
            len: 512,
            flags: DESC_F_NEXT | DESC_F_WRITE,
            next: 2,
        },
    };
    for (index, descriptor) in [header, body, status].into_iter().enumerate() {
        write(table + 16 * index as u64, descriptor);
    }
    write(data, [0u32, 0, 0, 0]);
    write(available + Layout { size: SIZE }.available_slot(0), 0u16);
    let index: u16 = if mode == "index" { 1000 } else { 1 };
    write(available + Layout::AVAILABLE_IDX, index);
    block::notify();
    timer::sleep(30_000_000);
    let _ = hv::console_write(b"still running after the bad request\n");
    hv::shutdown(0)
}
