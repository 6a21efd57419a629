//! Scenario guest: a block frontend of the driver domain's backend that
//! outlives the backend. It writes and flushes a pattern, then keeps
//! [`MAX_IN_FLIGHT`] writes in flight round after round; requests the
//! backend loses (its domain crashed or hung) must fail, as
//! `Disconnected` or `Timeout`, within the frontend's timeout (or complete
//! after the reconnection), never hang. Once the frontend has reconnected
//! and served three whole rounds, it reads the flushed pattern back.
//! With `mode=hostile` it corrupts its ring instead, then connects a
//! hundred times in a row with one ring; with `mode=hog` it keeps its ring
//! full of reads by hand (see [`hostile`]); with `mode=lied-to` it
//! checks its defences against a lying backend (see [`lied_to`]).
#![no_std]
#![no_main]

mod lied_to;

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::drivers::block::{self, BlockError, MAX_IN_FLIGHT};
use guest_kernel::measure::PIPELINED;
use guest_kernel::memory::{frames, phys_to_virt};
use guest_kernel::{check, interrupts, measure, println, scenario};
use shared_abi::block::BlockRequestType;
use shared_abi::guest::block_grant::{self, TIMEOUT_NS};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

const BYTES: u32 = 4096;
/// Where the flushed pattern is.
const PATTERN_SECTOR: u64 = 0;
/// Give up after this much virtual time without a reconnection.
const GIVE_UP_NS: u64 = 120_000_000_000;
/// Slack on the timeout for a failed request's wait.
const SLACK_NS: u64 = 500_000_000;

fn fill(bytes: &mut [u8], seed: u8) {
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = (index as u8).wrapping_mul(13).wrapping_add(seed);
    }
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    interrupts::enable();
    let info = scenario::start_info();
    if scenario::arg(info.args(), "mode") == Some("requests") {
        wait_for_backend();
    }
    let sectors =
        block::init().unwrap_or_else(|e| scenario::fail(format_args!("block init: {e:?}")));
    if scenario::arg(info.args(), "mode") == Some("hostile") {
        hostile::run();
    }
    if scenario::arg(info.args(), "mode") == Some("hog") {
        hostile::hog();
    }
    if scenario::arg(info.args(), "mode") == Some("lied-to") {
        lied_to::run();
    }
    if scenario::arg(info.args(), "mode") == Some("bench") {
        bench(sectors);
    }

    if scenario::arg(info.args(), "mode") == Some("requests") {
        let (page, _) = scenario::page();
        timed_requests(sectors, page);
    }
    let seed = info.domain_id as u8;
    let (pattern_phys, pattern) = scenario::page();
    fill(pattern, seed);
    check!(
        block::write(PATTERN_SECTOR, pattern_phys, BYTES).is_ok(),
        "pattern write"
    );
    check!(block::flush().is_ok(), "pattern flush");
    println!("pattern written and flushed");
    let buffers: [(u64, &'static mut [u8]); MAX_IN_FLIGHT] =
        core::array::from_fn(|_| scenario::page());
    let start = interrupts::now_ns();
    let (mut failed, mut good_rounds, mut round) = (0u32, 0u32, 0u64);
    while good_rounds < 3 || block_grant::connections() < 2 {
        check!(
            interrupts::now_ns() - start < GIVE_UP_NS,
            "no reconnection after {} rounds",
            round
        );
        round += 1;
        let mut all_ok = true;
        let mut tickets = [None; MAX_IN_FLIGHT];
        for (n, (phys, _)) in buffers.iter().enumerate() {
            let sector = 8 + (n as u64 + round * MAX_IN_FLIGHT as u64) % 256 * 8;
            match block::submit(BlockRequestType::Out, sector, Some((*phys, BYTES))) {
                Ok(ticket) => tickets[n] = Some((ticket, interrupts::now_ns())),
                Err(BlockError::Disconnected) => {
                    all_ok = false;
                    failed += 1;
                }
                Err(e) => scenario::fail(format_args!("submit: {e:?}")),
            }
        }
        for (ticket, submitted) in tickets.into_iter().flatten() {
            match block::wait(ticket) {
                Ok(()) => {}
                Err(BlockError::Disconnected | BlockError::Timeout) => {
                    let waited = interrupts::now_ns() - submitted;
                    check!(
                        waited <= TIMEOUT_NS + SLACK_NS,
                        "a failed request took {} ms",
                        waited / 1_000_000
                    );
                    all_ok = false;
                    failed += 1;
                }
                Err(e) => scenario::fail(format_args!("wait: {e:?}")),
            }
        }
        if block_grant::connections() >= 2 && all_ok {
            good_rounds += 1;
        }
    }
    println!(
        "reconnected; every request completed or failed within the timeout ({failed} failed, {round} rounds)"
    );
    let (back_phys, back) = scenario::page();
    check!(
        block::read(PATTERN_SECTOR, back_phys, BYTES).is_ok(),
        "pattern read"
    );
    check!(
        *back == *pattern,
        "the flushed pattern differs after the restart"
    );
    let _ = sectors;
    println!("the pattern flushed before the restart read back intact");
    scenario::done()
}

/// Bytes of a sequential request through the backend (its largest).
const SEQUENTIAL_REQUEST: u32 = 64 * 1024;
/// Bytes read sequentially.
const SEQUENTIAL_BYTES: u64 = 1024 * 1024;
/// Random 4 KiB reads.
const RANDOM_REQUESTS: u64 = 64;

/// `mode=bench`: the driver domain's direct workloads through the backend
/// (sequential reads of 1 MiB, one request at a time, and random 4 KiB
/// reads), as bench lines, the sequential read again [`pipelined`], then
/// [`timed_requests`] (alone with `mode=requests`).
fn bench(sectors: u64) -> ! {
    let pages = (SEQUENTIAL_REQUEST / BYTES) as u64;
    // Fresh frames come from a bump allocator: consecutive ones are
    // contiguous (checked).
    let first = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    for page in 1..pages {
        let next = frames::allocate();
        check!(next == Some(first + page * 4096), "frames not contiguous");
    }
    let requests = SEQUENTIAL_BYTES / u64::from(SEQUENTIAL_REQUEST);
    let per_request = u64::from(SEQUENTIAL_REQUEST) / 512;
    for request in 0..requests {
        check!(
            block::write(request * per_request, first, SEQUENTIAL_REQUEST).is_ok(),
            "sequential write"
        );
    }
    let start = interrupts::now_ns();
    for request in 0..requests {
        check!(
            block::read(request * per_request, first, SEQUENTIAL_REQUEST).is_ok(),
            "sequential read"
        );
    }
    let ns = interrupts::now_ns() - start;
    println!(
        "bench block_backend_seq_mb_per_s {} {requests}",
        SEQUENTIAL_BYTES * 1000 / ns.max(1)
    );
    let mut seed = 0x2545_f491u64;
    let start = interrupts::now_ns();
    for _ in 0..RANDOM_REQUESTS {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let sector = (seed >> 33) % (sectors / 8) * 8;
        check!(block::read(sector, first, BYTES).is_ok(), "random read");
    }
    let ns = interrupts::now_ns() - start;
    println!(
        "bench block_backend_rand_iops {} {RANDOM_REQUESTS}",
        RANDOM_REQUESTS * 1_000_000_000 / ns.max(1)
    );
    pipelined();
    timed_requests(sectors, first)
}

/// The same sequential 1 MiB read with [`PIPELINED`] 64 KiB requests in
/// flight (a buffer each), as `bench block_backend_seq_3_in_flight_mb_per_s`
/// (compared with the driver domain's own pipelined read).
fn pipelined() {
    let bytes = u64::from(SEQUENTIAL_REQUEST);
    let pages = PIPELINED as u64 * bytes / 4096;
    let first = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    for page in 1..pages {
        let next = frames::allocate();
        check!(next == Some(first + page * 4096), "frames not contiguous");
    }
    let requests = SEQUENTIAL_BYTES / bytes;
    let per_request = bytes / 512;
    let mut tickets = [None; PIPELINED];
    let start = interrupts::now_ns();
    for request in 0..requests {
        let slot = request as usize % PIPELINED;
        if let Some(ticket) = tickets[slot].take() {
            check!(block::wait(ticket).is_ok(), "pipelined read");
        }
        let buffer = first + slot as u64 * bytes;
        let data = Some((buffer, SEQUENTIAL_REQUEST));
        match block::submit(BlockRequestType::In, request * per_request, data) {
            Ok(ticket) => tickets[slot] = Some(ticket),
            Err(e) => scenario::fail(format_args!("pipelined submit: {e:?}")),
        }
    }
    for ticket in tickets.into_iter().flatten() {
        check!(block::wait(ticket).is_ok(), "pipelined read");
    }
    let ns = interrupts::now_ns() - start;
    println!(
        "bench block_backend_seq_3_in_flight_mb_per_s {} {requests}",
        SEQUENTIAL_BYTES * 1000 / ns.max(1)
    );
}

/// Tries of each untimed warm-up read of [`timed_requests`].
const WARM_UP_TRIES: usize = 5;

/// Waits up to 10 minutes of virtual time for the block backend: under
/// icount the driver domain's own measurement before it offers the backend
/// takes longer than `block::init` waits (virtual time leaps while the
/// CPU waits for the disk).
fn wait_for_backend() {
    use shared_abi::backend::Kind;
    use shared_abi::guest::{backend, timer};
    let deadline = interrupts::now_ns() + 600_000_000_000;
    while backend::domain(Kind::Block).is_err() && interrupts::now_ns() < deadline {
        timer::sleep(100_000_000);
    }
}

/// The TSC ticks of each of 64 random 4 KiB reads into the page at
/// `buffer`, from submit to completion, less the CPU's idle time: every
/// domain and the hypervisor included (nothing else runs meanwhile, the
/// driver domain only serves them), so under icount their instructions;
/// as the bench line `block_backend_rand_cycles_per_request`.
///
/// The same places are read once untimed first. Under icount virtual time
/// leaps while every domain waits for the disk, so a read the host serves
/// slowly (its page cache cold) can pass the frontend's 2 s timeout; a
/// warm-up read that times out is tried again, and the timed reads then
/// find the host's cache warm.
fn timed_requests(sectors: u64, buffer: u64) -> ! {
    let places = |count| {
        let mut seed = 0x9e37_79b9u64;
        (0..count).map(move |_| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % (sectors / 8) * 8
        })
    };
    for sector in places(RANDOM_REQUESTS) {
        let warm = (0..WARM_UP_TRIES).any(|_| block::read(sector, buffer, BYTES).is_ok());
        check!(warm, "warm-up read at sector {sector}");
    }
    let samples = places(RANDOM_REQUESTS)
        .map(|sector| {
            measure::timed_busy(|| check!(block::read(sector, buffer, BYTES).is_ok(), "timed read"))
        })
        .collect();
    measure::report("block_backend_rand_cycles_per_request", samples);
    scenario::done()
}

/// `mode=hostile`: connects to the backend by hand, once per corruption,
/// corrupts the ring and waits until the backend has disconnected it (its
/// port no longer connected), then goes on with the next.
mod hostile {
    use shared_abi::backend::Kind;
    use shared_abi::blkif::{MAX_SEGMENTS, Operation, Request, Ring, Segment};
    use shared_abi::event::PortState;
    use shared_abi::grant::GrantRef;
    use shared_abi::guest::{backend, events, grant, timer};

    use super::*;

    #[derive(Clone, Copy)]
    enum Case {
        IndexFarAhead,
        ForgedReference,
        StaleReference,
        OutsideRegion,
        UnknownOperation,
        SegmentPastPage,
    }

    const CASES: [Case; 6] = [
        Case::IndexFarAhead,
        Case::ForgedReference,
        Case::StaleReference,
        Case::OutsideRegion,
        Case::UnknownOperation,
        Case::SegmentPastPage,
    ];

    fn name(case: Case) -> &'static str {
        match case {
            Case::IndexFarAhead => "request producer far ahead",
            Case::ForgedReference => "forged grant reference",
            Case::StaleReference => "stale grant reference",
            Case::OutsideRegion => "sectors outside the region",
            Case::UnknownOperation => "unknown operation",
            Case::SegmentPastPage => "segment past its page",
        }
    }

    /// Waits (sleeping 10 ms at a time, up to 10 s) until `port` is in
    /// `connected` state or not.
    fn wait_port(port: u32, connected: bool) {
        for _ in 0..1000 {
            let state = events::status(port).map(|s| s.state);
            if (state == Ok(PortState::Interdomain)) == connected {
                return;
            }
            timer::sleep(10_000_000);
        }
        scenario::fail(format_args!(
            "port {port} never became connected={connected}"
        ));
    }

    /// The block backend's domain.
    fn backend_id() -> u32 {
        backend::domain(Kind::Block)
            .unwrap_or_else(|s| scenario::fail(format_args!("no backend: {}", s.name())))
    }

    /// Connects by hand: grants a fresh ring page to `backend_id`, offers
    /// it a port and waits until the backend has taken the connection.
    /// Returns the ring page, its grant and the port.
    fn connect_ring(backend_id: u32) -> (u64, GrantRef, u32) {
        let (ring_phys, _) = scenario::page();
        let reference = grant::access(backend_id, ring_phys, false)
            .unwrap_or_else(|s| scenario::fail(format_args!("grant: {}", s.name())));
        let port = events::alloc_unbound(backend_id)
            .unwrap_or_else(|s| scenario::fail(format_args!("port: {}", s.name())));
        if let Err(s) = backend::connect(Kind::Block, reference.raw() as u32, port) {
            scenario::fail(format_args!("connect: {}", s.name()));
        }
        wait_port(port, true);
        (ring_phys, reference, port)
    }

    /// Ends the ring's grant once the backend has let go of it (it does
    /// when it sees its port closed), waiting up to 10 s.
    fn release_ring(reference: GrantRef) {
        for _ in 0..1000 {
            if grant::end(reference).is_ok() {
                return;
            }
            timer::sleep(10_000_000);
        }
        scenario::fail(format_args!(
            "the backend kept the ring after the port closed"
        ));
    }

    pub fn run() -> ! {
        let backend_id = backend_id();
        let sectors = guest_kernel::hv::devices::block_info();
        let (data, _) = scenario::page();
        for case in CASES {
            let (ring_phys, reference, port) = connect_ring(backend_id);
            let data_ref = grant::access(backend_id, data, false)
                .unwrap_or_else(|s| scenario::fail(format_args!("grant data: {}", s.name())));
            let segment = |reference: GrantRef| Segment {
                reference: reference.raw() as u32,
                offset: 0,
                len: 4096,
            };
            let mut request = Request {
                id: 1,
                operation: Operation::Write as u32,
                segments: 1,
                sector: 0,
                segment: [Segment::default(); MAX_SEGMENTS],
            };
            request.segment[0] = segment(data_ref);
            let mut producer = 1;
            match case {
                Case::IndexFarAhead => producer = 1000,
                Case::ForgedReference => request.segment[0] = segment(GrantRef::first(60)),
                Case::StaleReference => {
                    let stale = grant::access(backend_id, data, true)
                        .unwrap_or_else(|s| scenario::fail(format_args!("grant: {}", s.name())));
                    let _ = grant::end(stale);
                    request.segment[0] = segment(stale);
                }
                Case::OutsideRegion => {
                    request.operation = Operation::Read as u32;
                    request.sector = sectors - 4;
                }
                Case::UnknownOperation => request.operation = 7,
                Case::SegmentPastPage => {
                    request.segment[0].offset = 3584;
                    request.segment[0].len = 1024;
                }
            }
            let ring = phys_to_virt(ring_phys).cast::<Ring>();
            // SAFETY: the ring frame is this guest's, mapped at the
            // physical offset; the backend reads it concurrently, which is
            // the point.
            unsafe {
                core::ptr::addr_of_mut!((*ring).requests[0]).write_volatile(request);
                core::ptr::addr_of_mut!((*ring).request_producer).write_volatile(producer);
            }
            let _ = events::send(port);
            println!("corrupted the ring: {}", name(case));
            wait_port(port, false);
            let _ = events::close(port);
            let _ = grant::end(data_ref);
            let _ = grant::end(reference);
        }
        println!("every corruption refused; still running");
        reconnect_storm(backend_id);
        scenario::done()
    }

    /// How long [`hog`] keeps its ring full (virtual time).
    const HOG_NS: u64 = 4_000_000_000;

    /// `mode=hog`: connects by hand and keeps its ring full of 4 KiB reads
    /// for [`HOG_NS`], refilling it whenever the backend answers, so that
    /// there is always a request of its own waiting for the device: the
    /// other frontends must still be served, their flushes included.
    pub fn hog() -> ! {
        let backend_id = backend_id();
        let (data, _) = scenario::page();
        let data_ref = grant::access(backend_id, data, false)
            .unwrap_or_else(|s| scenario::fail(format_args!("grant data: {}", s.name())));
        let (ring_phys, reference, port) = connect_ring(backend_id);
        guest_kernel::interrupts::on_port(port, |_| {});
        let ring = phys_to_virt(ring_phys).cast::<Ring>();
        let responses = || {
            // SAFETY: the ring frame is this guest's, mapped at the
            // physical offset; the backend writes it concurrently, hence a
            // volatile read of the one field.
            unsafe { core::ptr::addr_of!((*ring).response_producer).read_volatile() }
        };
        // SAFETY: as for `responses`; the backend reads these fields
        // concurrently, hence volatile writes of whole fields.
        let produce = |at: u32| unsafe {
            let mut request = Request {
                id: u64::from(at),
                operation: Operation::Read as u32,
                segments: 1,
                sector: u64::from(at % 64) * 8,
                segment: [Segment::default(); MAX_SEGMENTS],
            };
            request.segment[0] = Segment {
                reference: data_ref.raw() as u32,
                offset: 0,
                len: 4096,
            };
            let slot = (at % shared_abi::blkif::RING_SLOTS) as usize;
            core::ptr::addr_of_mut!((*ring).requests[slot]).write_volatile(request);
            core::ptr::addr_of_mut!((*ring).request_producer).write_volatile(at + 1);
        };
        let start = guest_kernel::interrupts::now_ns();
        let mut producer = 0u32;
        while guest_kernel::interrupts::now_ns() - start < HOG_NS {
            let answered = responses();
            while producer.wrapping_sub(answered) < shared_abi::blkif::RING_SLOTS {
                produce(producer);
                producer = producer.wrapping_add(1);
            }
            let _ = events::send(port);
            let deadline = guest_kernel::interrupts::now_ns() + 10_000_000;
            timer::wait_until(deadline, || responses() != answered);
        }
        let reads = responses();
        let _ = events::close(port);
        release_ring(reference);
        // Only copied to, never mapped: it ends at once.
        let _ = grant::end(data_ref);
        println!(
            "kept its ring full for {} s ({reads} reads answered)",
            HOG_NS / 1_000_000_000
        );
        scenario::done()
    }

    /// Connections made in a row with one ring grant.
    const RECONNECTS: usize = 100;

    /// Connects again and again with the same ring grant, alternating
    /// between two ports (each connection makes the backend drop the one
    /// before, which leaves its port free for the next): the backend must
    /// take each, and its bookkeeping must not grow with them (the
    /// scenario checks its closing line).
    fn reconnect_storm(backend_id: u32) {
        let (ring_phys, _) = scenario::page();
        let reference = grant::access(backend_id, ring_phys, false)
            .unwrap_or_else(|s| scenario::fail(format_args!("grant: {}", s.name())));
        let port = || {
            events::alloc_unbound(backend_id)
                .unwrap_or_else(|s| scenario::fail(format_args!("port: {}", s.name())))
        };
        let ports = [port(), port()];
        for round in 0..RECONNECTS {
            let port = ports[round % 2];
            if let Err(s) = backend::connect(Kind::Block, reference.raw() as u32, port) {
                scenario::fail(format_args!("connect {round}: {}", s.name()));
            }
            wait_port(port, true);
        }
        println!("connected {RECONNECTS} times with one ring; each taken");
        for port in ports {
            let _ = events::close(port);
        }
        release_ring(reference);
    }
}
