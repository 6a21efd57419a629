//! Hostile scenario guest: a domain that is not the driver domain tries
//! every privilege the driver domain has, and reports each refusal: port
//! I/O on COM1 and elsewhere (a general-protection fault its handler
//! catches), the PCI configuration space, the interrupt line, DMA
//! addresses (`DENIED`). Then it carries on and ends normally.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::{hv, port_io, println, scenario};
use shared_abi::Status;

entry_point!(main, config = &scenario::MEMORY_CONFIG);

fn denied<T: core::fmt::Debug>(what: &str, result: Result<T, Status>) {
    scenario::report_refusal(what, result, Status::Denied);
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    if let Err(status) = port_io::init() {
        scenario::fail(format_args!("trap handler: {}", status.name()));
    }
    for port in [0x3f8u16, 0x3ff, 0x60] {
        match port_io::read(port) {
            Err(refused) => println!(
                "in from port {port:#x} refused: vector {}, error {:#x}",
                refused.vector, refused.error_code
            ),
            Ok(value) => scenario::fail(format_args!("in from port {port:#x} gave {value:#x}")),
        }
    }
    for port in [0x3ffu16, 0x80] {
        match port_io::write(port, 0x42) {
            Err(refused) => println!(
                "out to port {port:#x} refused: vector {}, error {:#x}",
                refused.vector, refused.error_code
            ),
            Ok(()) => scenario::fail(format_args!("out to port {port:#x} was allowed")),
        }
    }
    denied("pci_config_read(0)", hv::driver::pci_config_read(0));
    denied(
        "pci_config_read(offset 256)",
        hv::driver::pci_config_read(256),
    );
    denied(
        "pci_config_write(command)",
        hv::driver::pci_config_write(4, 6),
    );
    denied(
        "pci_config_write(BAR0)",
        hv::driver::pci_config_write(0x10, u32::MAX),
    );
    denied("irq_bind(11)", hv::driver::irq_bind(11));
    denied("irq_done(1)", hv::driver::irq_done(1));
    denied("dma_address(0)", hv::driver::dma_address(0));
    println!("still running after every refusal");
    scenario::done()
}
