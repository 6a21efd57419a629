//! Boot policy once the machine is up: read the command line, create a
//! domain for every image in the bundle, and start scheduling.

use shared_abi::bundle::Bundle;
use shared_abi::exit::HvExit;

use crate::arch::x86_64::pvh::BootInformation;
use crate::arch::x86_64::qemu_exit;
use crate::cmdline::{self, Options, SelfTest};
use crate::disk_regions::DiskRegions;
use crate::dispatch;
use crate::domain::restart::Recipe;
use crate::domain::table::DOMAINS;
use crate::launch::launch;
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
    let traced = options.trace.is_some_and(|records| {
        let on = crate::trace::enable(records);
        if !on {
            log::warn!("trace: no memory for {records} records; tracing is off");
        }
        on
    });
    // A traced boot reaches the core through the tracer's wrappers; an
    // untraced one pays nothing for tracing.
    if traced {
        dispatch::at_finish(crate::trace::dump);
    }
    type Fast = extern "C" fn(
        &mut crate::arch::x86_64::frame::ScratchFrame,
    ) -> crate::arch::x86_64::frame::Fast;
    let (hypercall_fast, system_call_fast, exit): (Fast, Fast, fn(&mut _, _)) = if traced {
        let trace = (crate::trace::hypercall_fast, crate::trace::system_call_fast);
        (trace.0, trace.1, crate::trace::exit)
    } else {
        let fast = (dispatch::hypercall_fast, dispatch::system_call_fast);
        (fast.0, fast.1, dispatch::exit)
    };
    crate::arch::x86_64::trap::install(crate::arch::x86_64::trap::Core {
        hypercall_fast,
        system_call_fast,
        exit,
        uart_interrupt: crate::console::uart_interrupt,
    });
    crate::console::set_color(options.console_color);
    if options.bench {
        crate::arch::x86_64::trap::BENCH_PROBE.store(true, core::sync::atomic::Ordering::Relaxed);
        crate::arch::x86_64::syscall::use_bench_entry();
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
    // The disk is the driver domain's to drive: the hypervisor only finds
    // it, gives it to the driver domain and hands out regions of it.
    let driver_domain = bundle.entries().any(|entry| entry.driver);
    let disk = crate::devices::assigned::claim();
    match (disk, driver_domain) {
        (Some(device), true) => log::info!("driver: virtio-blk {}", device.describe()),
        (None, true) => log::info!("driver: no virtio-blk device to assign"),
        (Some(device), false) => log::warn!(
            "disk: virtio-blk {}, but no driver domain serves it",
            device.describe()
        ),
        (None, false) => log::info!("disk: none"),
    }
    log::info!(
        "bundle: {} image(s), {} MiB per domain unless the bundle says otherwise",
        bundle.len(),
        options.domain_memory >> 20
    );
    let mut table = DOMAINS.lock();
    let mut regions = DiskRegions::default();
    for entry in bundle.entries() {
        let id = table.next_id();
        let result = entry
            .image
            .map_err(|error| alloc::format!("{error}"))
            .and_then(|image| {
                let memory = entry_memory(entry.memory, options.domain_memory)?;
                let disk = match entry.no_disk || entry.driver || disk.is_none() {
                    true => None,
                    false => Some(regions.region_for(entry.disk, id, options.domain_disk)?),
                };
                let mode = entry.mode.map_err(|error| alloc::format!("{error}"))?;
                let sectors = disk.map(|region| (region.first(), region.sectors()));
                let recipe = Recipe::new(image, memory, mode, sectors, entry.driver, entry.restart);
                Ok((launch(id, entry.name, entry.args, recipe)?, disk))
            });
        match result {
            Ok((domain, disk)) => {
                if let Some(region) = disk {
                    regions.record(id, entry.name, region);
                }
                table.add(domain);
            }
            Err(reason) => {
                log::error!("image '{}' rejected: {reason}", entry.name);
                table.reject();
            }
        }
    }
    if let Some(which) = options.debug_domain {
        crate::debug::attach(&mut table, which);
    }
    drop(table);
    dispatch::start()
}

/// The memory of a domain whose bundle entry asks for `requested` bytes
/// (`None`: the `dom_mem` default); out-of-range sizes reject the entry.
fn entry_memory(requested: Option<u64>, default: u64) -> Result<u64, alloc::string::String> {
    let Some(bytes) = requested else {
        return Ok(default);
    };
    if !(cmdline::MIN_DOMAIN_MEMORY..=cmdline::MAX_DOMAIN_MEMORY).contains(&bytes)
        || bytes % crate::mm::address::PAGE_SIZE != 0
    {
        return Err(alloc::format!(
            "memory of {bytes} bytes is not a whole number of pages from 1 MiB to 4 GiB"
        ));
    }
    Ok(bytes)
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
