//! Boot policy once the machine is up: read the command line, create a
//! domain for every image in the bundle, and start scheduling.

use shared_abi::bundle::Bundle;
use shared_abi::exit::HvExit;

use crate::arch::x86_64::pvh::BootInformation;
use crate::arch::x86_64::qemu_exit;
use crate::cmdline::{self, Options, SelfTest};
use crate::dispatch;
use crate::domain::{self, table::DOMAINS};
use crate::mm::address::MachineAddr;
use crate::mm::direct_map::{DIRECT_MAP_SIZE, machine_ptr};

/// Parses the command line, reporting ignored words, and applies the log level.
pub fn parse_cmdline(text: &str) -> Options {
    let options = cmdline::parse(text, |rejected| {
        log::warn!(
            "ignoring command-line word '{}': {}",
            rejected.word,
            rejected.reason
        );
    });
    log::set_max_level(options.log_level);
    options
}

/// Creates the domains and starts the first one.
pub fn run(boot: &BootInformation, options: Options) -> ! {
    log::info!(
        "microhypervisor {} (ABI {}.{})",
        env!("CARGO_PKG_VERSION"),
        shared_abi::ABI_MAJOR,
        shared_abi::ABI_MINOR
    );
    crate::console::set_color(options.console_color);
    if options.bench {
        crate::arch::x86_64::trap::BENCH_PROBE.store(true, core::sync::atomic::Ordering::Relaxed);
        log::info!("bench fault probe enabled");
        uart_bench();
    }
    if options.self_test == Some(SelfTest::Fault) {
        log::info!("self-test: faulting inside the hypervisor");
        // An address in the upper half that nothing maps.
        let unmapped = 0xffff_c000_0000_0000 as *const u64;
        // SAFETY: deliberately not safe: this read faults, and the fault
        // handler ends the machine with a register dump.
        let value = unsafe { unmapped.read_volatile() };
        log::error!("self-test read {value:#x} from an unmapped address");
    }
    let disk_sectors = crate::devices::block::disk::probe().unwrap_or(0);
    if disk_sectors > 0 {
        log::info!(
            "disk: virtio-blk, {disk_sectors} sectors ({} MiB)",
            disk_sectors >> 11
        );
    } else {
        log::info!("disk: none");
    }
    let Some(bytes) = bundle_bytes(boot) else {
        log::error!("no guest bundle: pass one with -initrd");
        qemu_exit::exit(HvExit::NoDomains);
    };
    let bundle = match Bundle::parse(bytes) {
        Ok(bundle) => bundle,
        Err(error) => {
            log::error!("{error}");
            qemu_exit::exit(HvExit::NoDomains);
        }
    };
    log::info!(
        "bundle: {} image(s), {} MiB per domain",
        bundle.len(),
        options.domain_memory >> 20
    );
    let mut table = DOMAINS.lock();
    for entry in bundle.entries() {
        let id = table.domains.len() as u32 + 1;
        let result = entry
            .image
            .map_err(|error| alloc::format!("{error}"))
            .and_then(|image| {
                domain::create(id, entry.name, entry.args, image, options.domain_memory)
                    .map_err(|error| alloc::format!("{error}"))
            });
        match result {
            Ok(mut domain) => {
                let region = options.domain_disk / 512;
                let first = (id as u64 - 1) * region;
                if first + region <= disk_sectors {
                    domain.disk.first_sector = first;
                    domain.disk.sectors = region;
                }
                table.domains.push(domain);
            }
            Err(reason) => {
                log::error!("image '{}' rejected: {reason}", entry.name);
                table.rejected += 1;
            }
        }
    }
    drop(table);
    dispatch::start()
}

fn bundle_bytes(boot: &BootInformation) -> Option<&'static [u8]> {
    let (addr, size) = boot.module?;
    if size == 0 || addr.checked_add(size)? > DIRECT_MAP_SIZE {
        return None;
    }
    // SAFETY: the module is in RAM covered by the direct map, reserved from
    // the frame allocator, and never written.
    Some(unsafe { core::slice::from_raw_parts(machine_ptr(MachineAddr(addr)), size as usize) })
}

/// Bytes the raw UART bench writes.
const UART_BENCH_BYTES: u64 = 16 * 1024;

/// Writes lines straight to the UART and reports the throughput: the
/// baseline for the console figures of `cargo xtask bench`.
fn uart_bench() {
    let mut line = [b'u'; 64];
    line[..14].copy_from_slice(b"hv: uart-raw  ");
    line[63] = b'\n';
    let start = crate::time::now();
    for _ in 0..UART_BENCH_BYTES / line.len() as u64 {
        crate::arch::x86_64::serial::write(&[&line]);
    }
    let elapsed = crate::time::now() - start;
    let rate = UART_BENCH_BYTES * crate::time::tsc_hz() / elapsed.max(1);
    log::info!("bench uart_raw_bytes_per_s {rate} 1");
}
