//! The driver domain: drives the physical virtio-blk disk itself, with
//! `virtio_drivers` over the hypercalls that give it its device (see
//! `guest_kernel::driver_domain`), and shows what it was not given.
//!
//! In order: COM1's scratch register (port 0x3ff) is written and read back
//! (the one port range the domain has); ports 0x80 and 0xcf8 fault; a
//! write to a BAR, a line other than the device's, an unaligned or
//! too-large configuration offset and a DMA address beyond its memory are
//! refused; the device is set up and its line bound (a second bind is
//! refused); a pattern is written and read back, interrupt-driven; then,
//! unless `measure=no`, the direct throughput is measured: 1 MiB
//! sequentially in 64 KiB requests (write, then read, and checked), and
//! 4 KiB requests at random places (reads, then writes), each printed as
//! `direct ...: N KiB/s`, and the reads as bench lines
//! (`bench block_driver_direct_seq_mb_per_s`,
//! `bench block_driver_direct_rand_iops`), then the TSC ticks of each of
//! 64 more random 4 KiB reads, less the CPU's idle time (instructions
//! under `cargo xtask bench --icount`:
//! `bench block_driver_direct_rand_cycles_per_request`); `measure=requests`
//! measures only those. With `device=none` (no disk attached) it checks
//! instead that every device call answers `NOT_READY`. With `crash=once`
//! the first run crashes once the pattern is written; the run the
//! hypervisor restarts first checks that the pattern is on the disk.
//!
//! With `serve=console` it serves the console: it runs the operator's
//! terminal, fed by the hypervisor (`guest_kernel::driver_domain::console`),
//! alone or, with `serve=console+block`, beside the block backend; in its
//! first run, `crash_console_after=N` crashes it once it has shown N
//! records, and `hang_console_after=N` makes it hang there (its watchdog
//! unfed).
//!
//! With `serve=block` (`cargo xtask` adds it with `serve=console+block`
//! whenever a disk is attached, `serve=console` otherwise) it skips those
//! checks, writes no pattern and serves the disk to
//! frontends in other domains (`guest_kernel::driver_domain::backend`),
//! after measuring only with `measure=yes` (the measurement writes over
//! the frontends' regions), until `clients=N` frontend domains have
//! connected and ended (for ever without `clients`: the hypervisor ends it
//! once no other domain is left); in its first run, `crash_after=N` crashes it once it has taken N
//! requests and `hang_after=N` makes it hang (its watchdog unfed) there;
//! `lie=yes` makes its backend lie about reads at the sectors
//! `driver_domain::lies` names.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::driver_domain::console::{self, ConsoleServer};
use guest_kernel::driver_domain::{self, Disk, SECTOR, backend, hal, ring_view};
use guest_kernel::measure::PIPELINED;
use guest_kernel::{check, hv, interrupts, measure, port_io, println, scenario};
use shared_abi::Status;
use shared_abi::guest::timer;
use virtio_drivers::device::blk::{BlkReq, BlkResp};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

/// Pages of the DMA pool: the queue, request headers and responses, five
/// 64 KiB buffers (two for the sequential run, three for the pipelined
/// one), and the backend's bounce buffers.
const POOL_PAGES: u64 = 192;
/// COM1's scratch register.
const COM1_SCRATCH: u16 = 0x3ff;
/// Bytes of a sequential request.
const SEQUENTIAL_REQUEST: usize = 64 * 1024;
/// Bytes moved sequentially, each way.
const SEQUENTIAL_BYTES: u64 = 1024 * 1024;
/// Random 4 KiB requests, each way.
const RANDOM_REQUESTS: u64 = 64;
/// Where the pattern goes.
const PATTERN_SECTOR: u64 = 64;
/// Where the sequential run starts.
const SEQUENTIAL_SECTOR: u64 = 2048;

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_memory(boot_info, Some(ring_view::on_fault));
    if let Err(status) = interrupts::init() {
        scenario::fail(format_args!("interrupts::init: {}", status.name()));
    }
    interrupts::enable();
    check!(hal::init(POOL_PAGES), "no contiguous DMA pool");
    if let Err(status) = port_io::init() {
        scenario::fail(format_args!("trap handler: {}", status.name()));
    }
    let info = scenario::start_info();
    // Serving, it is the disk's driver (and the terminal's) for the other
    // domains: the checks of what it was and was not given are the test
    // runs' (without `serve`), not every boot's.
    let served = scenario::arg(info.args(), "serve").unwrap_or("");
    let serves = |what: &str| served.split('+').any(|s| s == what);
    let serving = serves("block");
    let first_run = |key| {
        scenario::arg(info.args(), key)
            .filter(|_| info.restarts == 0)
            .and_then(|n| n.parse().ok())
    };
    let faults = console::Faults {
        crash_after: first_run("crash_console_after"),
        hang_after: first_run("hang_console_after"),
    };
    let checks = scenario::arg(info.args(), "console_checks") == Some("yes");
    let mut console = match serves("console") {
        true => Some(
            ConsoleServer::start(faults, checks).unwrap_or_else(|status| {
                scenario::fail(format_args!("console server: {}", status.name()))
            }),
        ),
        false => None,
    };
    if console.is_some() && checks {
        console_refusals();
    }
    if let Some(console) = console.as_mut()
        && !serving
    {
        serve_console(console);
    }
    if !serving {
        com1_scratch();
        ports_refused();
    }
    if scenario::arg(info.args(), "device") == Some("none") {
        no_device();
    }
    if !serving {
        refusals(info.memory_bytes);
    }
    let ids = driver_domain::find().unwrap_or_else(|e| scenario::fail(format_args!("{e:?}")));
    let mut disk = Disk::open().unwrap_or_else(|e| scenario::fail(format_args!("{e:?}")));
    let (line, port) = disk.interrupt();
    println!(
        "virtio-blk {:04x}:{:04x}, {} sectors, interrupt line {line} on port {port}",
        ids & 0xffff,
        ids >> 16,
        disk.sectors()
    );
    // Serving, the disk is the frontends': no pattern, and no measuring
    // (which writes all over it) unless `measure=yes`.
    if !serving {
        scenario::report_refusal(
            "irq_bind(own line) again",
            hv::driver::irq_bind(line),
            Status::AlreadyBound,
        );
        if info.restarts > 0 {
            pattern_survived(&mut disk, info.restarts);
        }
        pattern(&mut disk);
    }
    if scenario::arg(info.args(), "crash") == Some("once") && info.restarts == 0 {
        println!("crashing with the pattern written (run 1)");
        // SAFETY: deliberately raises #UD with no handler for it: the
        // hypervisor stops this domain and, a driver domain being
        // restartable, boots it again.
        unsafe { core::arch::asm!("ud2") };
    }
    let measure = scenario::arg(info.args(), "measure");
    let everything = match serving {
        true => measure == Some("yes"),
        false => !matches!(measure, Some("no" | "requests")),
    };
    if everything {
        measure_disk(&mut disk);
    }
    if measure == Some("requests") {
        measure_requests(&mut disk, driver_domain::buffer(4096));
    }
    if serving {
        serve(disk, console, info.args(), info.restarts);
    }
    scenario::done()
}

/// The console server's calls refuse what they must, and lose nothing
/// doing so: a buffer too small for the next record, a pointer into the
/// hypervisor's half, the retired `console_input`, an unknown command,
/// the name of domain 0.
fn console_refusals() {
    use shared_abi::console_feed::ConsoleCommand;
    use shared_abi::guest::console_server;
    use shared_abi::hypercall::request;

    scenario::report_refusal(
        "console_read(4-byte buffer)",
        console_server::read(&mut [0u8; 4]),
        Status::BufferTooSmall,
    );
    let read = request::ConsoleRead {
        ptr: 0xffff_8000_0000_0000,
        len: 4096,
    };
    // SAFETY: the pointer is the hypervisor's; it refuses to write there.
    let wild = unsafe { shared_abi::guest::call(read) };
    scenario::report_refusal("console_read(hypervisor's half)", wild, Status::BadAddress);
    let input = request::ConsoleInput {
        domain: 1,
        ptr: 0,
        len: 1,
    };
    // SAFETY: a retired call: the hypervisor reads nothing.
    let retired = unsafe { shared_abi::guest::call(input) };
    scenario::report_refusal("console_input(retired)", retired, Status::UnknownHypercall);
    let command = request::ConsoleCommand {
        command: 99,
        focus: 1,
    };
    // SAFETY: no pointer.
    let unknown = unsafe { shared_abi::guest::call(command) };
    scenario::report_refusal("console_command(99)", unknown, Status::InvalidArgument);
    scenario::report_refusal(
        "domain_name(0)",
        console_server::domain_name(0, &mut [0u8; 32]),
        Status::InvalidArgument,
    );
    check!(
        console_server::command(ConsoleCommand::List, 1).is_ok(),
        "console_command(List) refused"
    );
}

/// Serves the console alone, until the hypervisor ends this domain.
fn serve_console(console: &mut ConsoleServer) -> ! {
    println!("serving the console");
    loop {
        console.service();
        let deadline = interrupts::now_ns() + console::FEED_NS;
        timer::wait_until(deadline, console::pending);
    }
}

/// Serves the disk to frontends until `clients=N` have come and ended.
fn serve(disk: Disk, mut console: Option<ConsoleServer>, args: &str, restarts: u32) -> ! {
    let first_run = |key| {
        scenario::arg(args, key)
            .filter(|_| restarts == 0)
            .and_then(|n| n.parse().ok())
    };
    let options = backend::Options {
        crash_after: first_run("crash_after"),
        hang_after: first_run("hang_after"),
        clients: scenario::arg(args, "clients").and_then(|n| n.parse().ok()),
        lie: scenario::arg(args, "lie") == Some("yes"),
    };
    let backend = backend::Backend::new(disk, options)
        .unwrap_or_else(|s| scenario::fail(format_args!("backend: {}", s.name())));
    println!("serving the block backend (run {})", restarts + 1);
    backend.serve(
        || {
            if let Some(console) = console.as_mut() {
                console.service();
            }
        },
        console::pending,
    );
    println!("every frontend has gone");
    scenario::done()
}

/// With no disk attached: every device call answers `NOT_READY`, and the
/// domain's own memory is still there for `dma_address`.
fn no_device() -> ! {
    scenario::report_refusal(
        "pci_config_read(0)",
        hv::driver::pci_config_read(0),
        Status::NotReady,
    );
    scenario::report_refusal(
        "pci_config_write(command)",
        hv::driver::pci_config_write(4, 6),
        Status::NotReady,
    );
    scenario::report_refusal("irq_bind(11)", hv::driver::irq_bind(11), Status::NotReady);
    scenario::report_refusal("irq_done(1)", hv::driver::irq_done(1), Status::NotReady);
    check!(hv::driver::dma_address(0).is_ok(), "dma_address(0) refused");
    scenario::done()
}

fn com1_scratch() {
    for value in [0xa5u8, 0x5a] {
        if let Err(refused) = port_io::write(COM1_SCRATCH, value) {
            scenario::fail(format_args!("out to COM1 refused: {refused:?}"));
        }
        let read = port_io::read(COM1_SCRATCH)
            .unwrap_or_else(|refused| scenario::fail(format_args!("in from COM1: {refused:?}")));
        check!(
            read == value,
            "COM1 scratch: wrote {value:#x}, read {read:#x}"
        );
    }
    println!("COM1 scratch register: wrote and read back 0xa5, 0x5a");
}

fn ports_refused() {
    match port_io::write(0x80, 1) {
        Err(refused) => println!(
            "out to port 0x80 refused: vector {}, error {:#x}",
            refused.vector, refused.error_code
        ),
        Ok(()) => scenario::fail(format_args!("out to port 0x80 was allowed")),
    }
    match port_io::read(0xcf8) {
        Err(refused) => println!(
            "in from port 0xcf8 refused: vector {}, error {:#x}",
            refused.vector, refused.error_code
        ),
        Ok(value) => scenario::fail(format_args!("in from port 0xcf8 gave {value:#x}")),
    }
}

fn refusals(memory_bytes: u64) {
    let driver = hv::driver::pci_config_write;
    scenario::report_refusal(
        "pci_config_write(BAR0)",
        driver(0x10, u32::MAX),
        Status::Denied,
    );
    scenario::report_refusal("pci_config_write(BAR4)", driver(0x20, 0), Status::Denied);
    scenario::report_refusal(
        "pci_config_write(interrupt line)",
        driver(0x3c, 5),
        Status::Denied,
    );
    scenario::report_refusal(
        "pci_config_write(offset 6)",
        driver(6, 0),
        Status::InvalidArgument,
    );
    let read = hv::driver::pci_config_read;
    scenario::report_refusal(
        "pci_config_read(offset 256)",
        read(256),
        Status::InvalidArgument,
    );
    scenario::report_refusal(
        "pci_config_read(offset 2)",
        read(2),
        Status::InvalidArgument,
    );
    let line = read(0x3c).unwrap_or_else(|s| scenario::fail(format_args!("line: {}", s.name())));
    let other = if line as u8 == 1 { 2 } else { 1 };
    scenario::report_refusal(
        "irq_bind(another line)",
        hv::driver::irq_bind(other),
        Status::Denied,
    );
    scenario::report_refusal(
        "irq_done(no line bound)",
        hv::driver::irq_done(1),
        Status::BadPort,
    );
    let dma = hv::driver::dma_address;
    scenario::report_refusal(
        "dma_address(end of memory)",
        dma(memory_bytes),
        Status::InvalidArgument,
    );
    scenario::report_refusal(
        "dma_address(u64::MAX)",
        dma(u64::MAX),
        Status::InvalidArgument,
    );
    let first = dma(0).unwrap_or_else(|s| scenario::fail(format_args!("dma: {}", s.name())));
    let last = dma(memory_bytes - 1).unwrap_or(0);
    check!(
        last == first + memory_bytes - 1,
        "memory is not machine-contiguous: {first:#x} .. {last:#x}"
    );
}

/// Fills `buffer` with a pattern that names `seed` and each byte's place.
fn fill(buffer: &mut [u8], seed: u64) {
    for (index, byte) in buffer.iter_mut().enumerate() {
        *byte = (index as u64 ^ seed.wrapping_mul(0x9e37_79b9) ^ (index as u64 >> 9)) as u8;
    }
}

fn pattern(disk: &mut Disk) {
    let written = driver_domain::buffer(4096);
    let read = driver_domain::buffer(4096);
    fill(written, PATTERN_SECTOR);
    if let Err(e) = disk.write(PATTERN_SECTOR, written) {
        scenario::fail(format_args!("pattern write: {e:?}"));
    }
    if let Err(e) = disk.read(PATTERN_SECTOR, read) {
        scenario::fail(format_args!("pattern read: {e:?}"));
    }
    check!(written == read, "the pattern read back differs");
    println!("pattern written and read back at sector {PATTERN_SECTOR}: ok");
}

/// After a restart: what the previous run wrote is on the disk.
fn pattern_survived(disk: &mut Disk, restarts: u32) {
    let expected = driver_domain::buffer(4096);
    let read = driver_domain::buffer(4096);
    fill(expected, PATTERN_SECTOR);
    if let Err(e) = disk.read(PATTERN_SECTOR, read) {
        scenario::fail(format_args!("reading the pattern after the restart: {e:?}"));
    }
    check!(
        expected == read,
        "the pattern written before the restart is gone"
    );
    println!(
        "run {}: the pattern written before the restart read back at sector {PATTERN_SECTOR}: ok",
        restarts + 1
    );
}

/// KiB per second for `bytes` in `ns`.
fn rate(bytes: u64, ns: u64) -> u64 {
    (bytes as u128 * 1_000_000_000 / 1024 / u128::from(ns.max(1))) as u64
}

/// The TSC ticks of each of 64 random 4 KiB reads, less the CPU's idle
/// time (instructions under icount), as the bench line
/// `block_driver_direct_rand_cycles_per_request`.
fn measure_requests(disk: &mut Disk, buffer: &mut [u8]) {
    let region = disk.sectors().min(1 << 16) / 8;
    let mut seed = 0x9e37_79b9u64;
    let samples = (0..RANDOM_REQUESTS)
        .map(|_| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let sector = (seed >> 33) % region * 8;
            measure::timed_busy(|| {
                if let Err(e) = disk.read(sector, &mut buffer[..4096]) {
                    scenario::fail(format_args!("timed random read: {e:?}"));
                }
            })
        })
        .collect();
    measure::report("block_driver_direct_rand_cycles_per_request", samples);
}

/// One request of the pipelined read: its header, response and buffer in
/// the DMA pool, and the token and number of the request in flight.
struct Slot {
    request: &'static mut BlkReq,
    response: &'static mut BlkResp,
    buffer: &'static mut [u8],
    in_flight: Option<u16>,
}

/// The sequential read of [`measure_disk`] again with [`PIPELINED`] 64 KiB
/// requests in flight, as `bench block_driver_direct_seq_3_in_flight_mb_per_s`:
/// what the backend's pipelined read is compared with.
fn measure_pipelined(disk: &mut Disk) {
    let mut slots: [Slot; PIPELINED] = core::array::from_fn(|_| {
        let (request, response) = driver_domain::request_pair();
        let buffer = driver_domain::buffer(SEQUENTIAL_REQUEST);
        Slot {
            request,
            response,
            buffer,
            in_flight: None,
        }
    });
    let sectors_per_request = (SEQUENTIAL_REQUEST / SECTOR) as u64;
    let requests = SEQUENTIAL_BYTES / SEQUENTIAL_REQUEST as u64;
    let (mut started, mut finished) = (0, 0);
    let start = interrupts::now_ns();
    while finished < requests {
        for slot in slots.iter_mut().filter(|slot| slot.in_flight.is_none()) {
            if started == requests {
                break;
            }
            let sector = SEQUENTIAL_SECTOR + started * sectors_per_request;
            // SAFETY: the slot's header, response and buffer are in the DMA
            // pool and untouched until `finish` with this token below.
            let token =
                unsafe { disk.start(false, sector, slot.request, slot.buffer, slot.response) };
            match token {
                Ok(token) => slot.in_flight = Some(token),
                Err(e) => scenario::fail(format_args!("pipelined read: {e:?}")),
            }
            started += 1;
        }
        interrupts::wait_for_event(driver_domain::interrupted);
        disk.take_interrupt();
        while let Some(token) = disk.completed() {
            let Some(slot) = slots.iter_mut().find(|slot| slot.in_flight == Some(token)) else {
                scenario::fail(format_args!("pipelined read: unknown token {token}"));
            };
            // SAFETY: the buffers `start` was given for this token.
            let done =
                unsafe { disk.finish(false, token, slot.request, slot.buffer, slot.response) };
            if let Err(e) = done {
                scenario::fail(format_args!("pipelined read: {e:?}"));
            }
            slot.in_flight = None;
            finished += 1;
        }
    }
    let ns = interrupts::now_ns() - start;
    println!(
        "bench block_driver_direct_seq_3_in_flight_mb_per_s {} {requests}",
        SEQUENTIAL_BYTES * 1000 / ns.max(1)
    );
}

fn measure_disk(disk: &mut Disk) {
    let buffer = driver_domain::buffer(SEQUENTIAL_REQUEST);
    let sectors_per_request = (SEQUENTIAL_REQUEST / SECTOR) as u64;
    let requests = SEQUENTIAL_BYTES / SEQUENTIAL_REQUEST as u64;
    let start = interrupts::now_ns();
    for request in 0..requests {
        fill(buffer, request);
        let sector = SEQUENTIAL_SECTOR + request * sectors_per_request;
        if let Err(e) = disk.write(sector, buffer) {
            scenario::fail(format_args!("sequential write: {e:?}"));
        }
    }
    let ns = interrupts::now_ns() - start;
    println!(
        "direct sequential write: {} KiB/s",
        rate(SEQUENTIAL_BYTES, ns)
    );
    let expected = driver_domain::buffer(SEQUENTIAL_REQUEST);
    let mut verify_ns = 0;
    let start = interrupts::now_ns();
    for request in 0..requests {
        let sector = SEQUENTIAL_SECTOR + request * sectors_per_request;
        if let Err(e) = disk.read(sector, buffer) {
            scenario::fail(format_args!("sequential read: {e:?}"));
        }
        let verify = interrupts::now_ns();
        fill(expected, request);
        check!(*buffer == *expected, "sequential read {request} differs");
        verify_ns += interrupts::now_ns() - verify;
    }
    let ns = interrupts::now_ns() - start - verify_ns;
    println!(
        "direct sequential read: {} KiB/s",
        rate(SEQUENTIAL_BYTES, ns)
    );
    println!(
        "bench block_driver_direct_seq_mb_per_s {} {}",
        SEQUENTIAL_BYTES * 1000 / ns.max(1),
        requests
    );
    measure_pipelined(disk);
    let region = disk.sectors().min(1 << 16) / 8;
    let page = &mut buffer[..4096];
    let mut seed = 0x2545_f491u64;
    let mut place = || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) % region * 8
    };
    let start = interrupts::now_ns();
    for _ in 0..RANDOM_REQUESTS {
        if let Err(e) = disk.read(place(), page) {
            scenario::fail(format_args!("random read: {e:?}"));
        }
    }
    let ns = interrupts::now_ns() - start;
    println!(
        "direct random 4 KiB read: {} KiB/s",
        rate(RANDOM_REQUESTS * 4096, ns)
    );
    println!(
        "bench block_driver_direct_rand_iops {} {RANDOM_REQUESTS}",
        RANDOM_REQUESTS * 1_000_000_000 / ns.max(1)
    );
    let start = interrupts::now_ns();
    for _ in 0..RANDOM_REQUESTS {
        if let Err(e) = disk.write(place(), page) {
            scenario::fail(format_args!("random write: {e:?}"));
        }
    }
    let ns = interrupts::now_ns() - start;
    println!(
        "direct random 4 KiB write: {} KiB/s",
        rate(RANDOM_REQUESTS * 4096, ns)
    );
    measure_requests(disk, buffer);
}
