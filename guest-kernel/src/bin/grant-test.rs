//! Scenario guest: grant tables. `mode=` picks the role, `peer=NAME` the
//! other side (looked up with `domain_lookup`):
//!
//! - `share-granter` / `share-grantee`: a page lent read-write, read and
//!   answered through a mapping and through copies both ways, unmapped and
//!   ended.
//! - `hostile-granter` / `hostile-grantee` / `hostile-third`: every misuse
//!   answers its status (stale, forged and someone else's references,
//!   double maps, writes to read-only grants, copies past the page,
//!   ending a mapped grant, the 64-grant and 32-map limits, bad pages); a
//!   write through a read-only mapping is a page fault this guest handles.
//! - `revoke-granter` (`end=exit` or `end=crash`) / `revoke-grantee`: the
//!   granter ends while its page is mapped; the grantee's next access
//!   faults, and its window slot is empty afterwards.
//! - `orphan-granter` / `orphan-grantee`: the grantee ends while it has the
//!   page mapped; the granter can then end the grant.
//!
//! References are not passed between the two sides: the grantee computes
//! them from the documented rule (lowest free slot, generation 1 for a
//! slot's first grant, one more each time the slot is reused). The sides
//! take turns by polling (with `yield`) a flag word the grantee writes into
//! the granted page.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use guest_kernel::memory::paging::{self, PageFlags, PageSize};
use guest_kernel::memory::{frames, phys_to_virt};
use guest_kernel::{check, hv, println, scenario};
use shared_abi::Status;
use shared_abi::grant::{GRANTS_MAX, GrantRef, MAPS_MAX, WINDOW_BASE, window_address};
use shared_abi::hypercall::request;
use shared_abi::trap::ExceptionFrame;

entry_point!(main, config = &scenario::MEMORY_CONFIG);

/// Where the grantee maps window pages in its own address space.
const MAPPED_VA: u64 = 0x4100_0000_0000;
/// Offsets in the shared page: the grantee's flag words and text.
const FLAG: usize = 0;
const ACK: usize = 8;
const SECOND: usize = 16;
const SEEN: usize = 24;
const REPLY: usize = 2048;
const COPIED: usize = 3000;
/// How long a side waits for the other, in yields.
const PATIENCE: u64 = 200_000;

/// The page (virtual) whose faults the hook absorbs (0: none).
static WATCHED: AtomicU64 = AtomicU64::new(0);
/// A frame of this guest the watched page is pointed at after a fault.
static SPARE: AtomicU64 = AtomicU64::new(0);
/// Faults absorbed, and the last one's error code.
static FAULTS: AtomicU64 = AtomicU64::new(0);
static FAULT_CODE: AtomicU64 = AtomicU64::new(0);

/// Page faults on the watched page: counted, and the page pointed at a
/// spare frame of this guest so that the access can be retried.
fn on_fault(frame: &mut ExceptionFrame) -> bool {
    let watched = WATCHED.load(Ordering::SeqCst);
    if watched == 0 || frame.fault_address & !0xfff != watched {
        return false;
    }
    FAULTS.fetch_add(1, Ordering::SeqCst);
    FAULT_CODE.store(frame.error_code, Ordering::SeqCst);
    let spare = SPARE.load(Ordering::SeqCst);
    paging::remap(paging::current_root(), watched, spare, PageFlags::WRITABLE).is_ok()
}

fn read(virt: u64) -> u8 {
    // SAFETY: `virt` is in a page this guest mapped (its own memory or a
    // granted page; a fault on the latter is handled by `on_fault`).
    unsafe { (virt as *const u8).read_volatile() }
}

fn write(virt: u64, value: u8) {
    // SAFETY: as in `read`.
    unsafe { (virt as *mut u8).write_volatile(value) }
}

fn read_bytes(virt: u64, out: &mut [u8]) {
    for (index, byte) in out.iter_mut().enumerate() {
        *byte = read(virt + index as u64);
    }
}

fn write_bytes(virt: u64, data: &[u8]) {
    for (index, byte) in data.iter().enumerate() {
        write(virt + index as u64, *byte);
    }
}

/// The byte the granter writes at `offset` of its page.
fn pattern(offset: usize) -> u8 {
    (offset as u8).wrapping_mul(7).wrapping_add(3)
}

/// A fresh frame of this guest, filled with the pattern; returns its
/// guest-physical address.
fn patterned_page() -> u64 {
    let page = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    let virt = phys_to_virt(page) as u64;
    for offset in 0..4096 {
        write(virt + offset as u64, pattern(offset));
    }
    page
}

/// Expects `got` to be `want`.
fn expect<T: core::fmt::Debug>(what: &str, got: Result<T, Status>, want: Status) {
    match got {
        Err(status) if status == want => {}
        other => scenario::fail(format_args!(
            "{what}: got {other:?}, expected {}",
            want.name()
        )),
    }
}

/// The value of `got`, or a failed check.
fn ok<T>(what: &str, got: Result<T, Status>) -> T {
    got.unwrap_or_else(|status| scenario::fail(format_args!("{what}: {}", status.name())))
}

/// Yields until `done` holds.
fn wait(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..PATIENCE {
        if done() {
            return;
        }
        hv::yield_now();
    }
    scenario::fail(format_args!("gave up waiting for {what}"))
}

/// Waits until the text `text` is at `offset` of the page at `virt`.
fn wait_for_text(virt: u64, offset: usize, text: &[u8]) {
    wait(core::str::from_utf8(text).unwrap_or("?"), || {
        let mut seen = [0u8; 16];
        read_bytes(virt + offset as u64, &mut seen[..text.len()]);
        &seen[..text.len()] == text
    });
}

/// Maps window address `gpa` at virtual `virt` (writable in the guest's
/// own tables: the grant decides).
fn map_window(virt: u64, gpa: u64) {
    let mapped = paging::map(
        paging::current_root(),
        virt,
        gpa,
        PageSize::Size4K,
        PageFlags::WRITABLE,
    );
    check!(mapped.is_ok(), "mapping {gpa:#x} at {virt:#x}: {mapped:?}");
}

/// Waits until grant `reference` of `granter` is usable (a one-byte copy
/// succeeds).
fn wait_for_grant(granter: u32, reference: GrantRef) {
    wait("the grant", || {
        hv::grant::copy_from(granter, reference, 0, &mut [0u8; 1]).is_ok()
    });
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_memory(boot_info, Some(on_fault));
    if let Err(status) = guest_kernel::interrupts::init() {
        scenario::fail(format_args!("interrupts::init: {}", status.name()));
    }
    let spare = frames::allocate().unwrap_or_else(|| scenario::fail(format_args!("no frame")));
    SPARE.store(spare, Ordering::SeqCst);
    let info = scenario::start_info();
    let args = info.args();
    let peer = scenario::find_domain(scenario::arg(args, "peer").unwrap_or(""));
    match scenario::arg(args, "mode").unwrap_or("") {
        "share-granter" => share_granter(peer),
        "share-grantee" => share_grantee(peer),
        "hostile-granter" => {
            let third = scenario::find_domain(scenario::arg(args, "third").unwrap_or(""));
            hostile_granter(peer, third, info.memory_bytes)
        }
        "hostile-grantee" => hostile_grantee(peer),
        "hostile-third" => hostile_third(peer),
        "revoke-granter" => revoke_granter(peer, scenario::arg(args, "end") == Some("crash")),
        "revoke-grantee" => revoke_grantee(peer),
        "orphan-granter" => orphan_granter(peer, scenario::arg(args, "peer").unwrap_or("")),
        "orphan-grantee" => orphan_grantee(peer),
        other => scenario::fail(format_args!("unknown mode '{other}'")),
    }
    scenario::done()
}

/// Lends a patterned page read-write, waits for the grantee's reply (in
/// the page) and its last copy (the flag), checks both, ends the grant.
fn share_granter(grantee: u32) {
    let page = patterned_page();
    let virt = phys_to_virt(page) as u64;
    let reference = ok("grant_access", hv::grant::access(grantee, page, false));
    check!(
        reference == GrantRef::first(0),
        "first grant is {reference:?}"
    );
    println!("granted page {page:#x} as reference {:#x}", reference.raw());
    wait_for_text(virt, FLAG, b"DONE");
    let mut reply = [0u8; 25];
    read_bytes(virt + REPLY as u64, &mut reply);
    check!(&reply == b"reply through the mapping", "reply {reply:?}");
    let mut copied = [0u8; 23];
    read_bytes(virt + COPIED as u64, &mut copied);
    check!(&copied == b"copied by grant_copy_to", "copied {copied:?}");
    ok("grant_end", hv::grant::end(reference));
    expect(
        "grant_end twice",
        hv::grant::end(reference),
        Status::InvalidArgument,
    );
    println!("reply and copy read back; grant ended");
}

/// Maps the granter's first grant, reads its pattern, answers through the
/// mapping and by copies, unmaps and raises the flag.
fn share_grantee(granter: u32) {
    let reference = GrantRef::first(0);
    wait_for_grant(granter, reference);
    let gpa = ok("grant_map", hv::grant::map(granter, reference, true));
    check!(gpa == WINDOW_BASE, "mapped at {gpa:#x}");
    map_window(MAPPED_VA, gpa);
    for offset in 0..4096 {
        let byte = read(MAPPED_VA + offset as u64);
        check!(byte == pattern(offset), "byte {offset} is {byte:#x}");
    }
    write_bytes(MAPPED_VA + REPLY as u64, b"reply through the mapping");
    let mut copy = [0u8; 64];
    ok(
        "grant_copy_from",
        hv::grant::copy_from(granter, reference, 100, &mut copy),
    );
    for (index, byte) in copy.iter().enumerate() {
        check!(*byte == pattern(100 + index), "copied byte {index}");
    }
    ok(
        "grant_copy_to",
        hv::grant::copy_to(
            granter,
            reference,
            COPIED as u64,
            b"copied by grant_copy_to",
        ),
    );
    let mut seen = [0u8; 23];
    read_bytes(MAPPED_VA + COPIED as u64, &mut seen);
    check!(
        &seen == b"copied by grant_copy_to",
        "copy not seen in the mapping"
    );
    check!(
        paging::unmap(paging::current_root(), MAPPED_VA) == Some(gpa),
        "unmap from the page tables"
    );
    ok("grant_unmap", hv::grant::unmap(gpa));
    expect(
        "grant_unmap twice",
        hv::grant::unmap(gpa),
        Status::InvalidArgument,
    );
    ok(
        "flag",
        hv::grant::copy_to(granter, reference, FLAG as u64, b"DONE"),
    );
    println!("pattern read through {gpa:#x}, reply written, 64 bytes copied each way, unmapped");
}

/// The granter's grants in the hostile scenario, slot by slot.
const RW_PAGE: GrantRef = GrantRef::first(0);
const RO_PAGE: GrantRef = GrantRef::first(1);
const STALE: GrantRef = GrantRef::first(2);
const REUSED: GrantRef = GrantRef::new(2, 2);
const THIRDS: GrantRef = GrantRef::first(3);
const LAST: GrantRef = GrantRef::first(GRANTS_MAX - 1);

/// Bad grants refused, then: a read-write page (slot 0), a read-only one
/// (slot 1), an ended grant whose slot is reused (slot 2), a grant to the
/// third domain (slot 3), read-only grants up to the limit. Then `BUSY`
/// while the grantee keeps slot 0 mapped, and the end once it let go.
fn hostile_granter(grantee: u32, third: u32, memory_bytes: u64) {
    let me = scenario::start_info().domain_id;
    let rw = patterned_page();
    let ro = patterned_page();
    let bad_pages = [
        ("unaligned", rw + 8),
        ("outside memory", memory_bytes),
        ("far outside memory", 1 << 40),
        ("in the hypervisor half", 0xffff_8000_0000_0000),
        ("non-canonical", 0x8000_0000_0000_0000),
        ("in the window", WINDOW_BASE),
    ];
    for (what, gpa) in bad_pages {
        expect(
            what,
            hv::grant::access(grantee, gpa, false),
            Status::InvalidArgument,
        );
    }
    expect(
        "to itself",
        hv::grant::access(me, rw, false),
        Status::InvalidArgument,
    );
    expect(
        "to no domain",
        hv::grant::access(999, rw, false),
        Status::BadPort,
    );
    expect(
        "to domain 0",
        hv::grant::access(0, rw, false),
        Status::BadPort,
    );
    // SAFETY: the call takes integers only.
    let flags = unsafe {
        hv::call(request::GrantAccess {
            domain: grantee as u64,
            gpa: rw,
            flags: 2,
        })
    };
    expect("unknown flags", flags, Status::InvalidArgument);
    expect(
        "end a forged grant",
        hv::grant::end(GrantRef::from_raw(0x1234_5678)),
        Status::InvalidArgument,
    );
    let grant = |gpa, to, read_only| ok("grant_access", hv::grant::access(to, gpa, read_only));
    check!(grant(rw, grantee, false) == RW_PAGE, "slot 0");
    check!(grant(ro, grantee, true) == RO_PAGE, "slot 1");
    check!(grant(ro, grantee, true) == STALE, "slot 2");
    ok("grant_end", hv::grant::end(STALE));
    check!(grant(ro, grantee, true) == REUSED, "slot 2 reused");
    check!(grant(ro, third, true) == THIRDS, "slot 3");
    for slot in 4..GRANTS_MAX {
        check!(
            grant(ro, grantee, true) == GrantRef::first(slot),
            "slot {slot}"
        );
    }
    expect(
        "grant 65",
        hv::grant::access(grantee, ro, true),
        Status::LimitReached,
    );
    println!("bad pages, flags and domains refused; 64 grants, the 65th refused");
    let virt = phys_to_virt(rw) as u64;
    wait_for_text(virt, FLAG, b"MAPPED");
    expect("end while mapped", hv::grant::end(RW_PAGE), Status::Busy);
    write_bytes(virt + ACK as u64, b"BUSY");
    wait_for_text(virt, SECOND, b"UNMAPPED");
    ok("grant_end after unmap", hv::grant::end(RW_PAGE));
    expect(
        "end twice",
        hv::grant::end(RW_PAGE),
        Status::InvalidArgument,
    );
    check!(
        grant(rw, grantee, false) == GrantRef::new(0, 2),
        "slot 0 reused at generation 2"
    );
    wait_for_text(virt, SEEN, b"SEEN");
    let mut ro_bytes = [0u8; 4];
    read_bytes(phys_to_virt(ro) as u64, &mut ro_bytes);
    check!(
        ro_bytes == [pattern(0), pattern(1), pattern(2), pattern(3)],
        "the read-only page changed: {ro_bytes:?}"
    );
    println!("end refused while mapped, accepted after unmap; read-only page intact");
}

/// Every misuse of the granter's grants, then the read-only write fault,
/// the map limit, and the end-while-mapped handshake.
fn hostile_grantee(granter: u32) {
    wait_for_grant(granter, LAST);
    let mut byte = [0u8; 1];
    let denied = [
        ("stale", STALE),
        ("wrong generation", GrantRef::new(0, 2)),
        ("generation 0", GrantRef::new(0, 0)),
        ("reference 0", GrantRef::from_raw(0)),
        ("slot beyond the table", GrantRef::first(GRANTS_MAX)),
        ("slot 255", GrantRef::first(255)),
        ("all ones", GrantRef::from_raw(u32::MAX as u64)),
        ("someone else's", THIRDS),
    ];
    for (what, reference) in denied {
        expect(
            what,
            hv::grant::map(granter, reference, false),
            Status::Denied,
        );
        expect(
            what,
            hv::grant::copy_from(granter, reference, 0, &mut byte),
            Status::Denied,
        );
    }
    ok(
        "the reused slot",
        hv::grant::copy_from(granter, REUSED, 0, &mut byte),
    );
    expect(
        "write map of a read-only grant",
        hv::grant::map(granter, RO_PAGE, true),
        Status::Denied,
    );
    expect(
        "copy into a read-only grant",
        hv::grant::copy_to(granter, RO_PAGE, 0, b"x"),
        Status::Denied,
    );
    expect(
        "copy past the page",
        hv::grant::copy_from(granter, RW_PAGE, 4000, &mut [0u8; 200]),
        Status::InvalidArgument,
    );
    expect(
        "copy into past the page",
        hv::grant::copy_to(granter, RW_PAGE, 4095, b"xy"),
        Status::InvalidArgument,
    );
    let hostile_copies = [
        (
            RW_PAGE.raw() << 12,
            0xffff_8000_0000_0000,
            16,
            Status::BadAddress,
        ),
        (RW_PAGE.raw() << 12, 0x10, 16, Status::BadAddress),
        (
            RW_PAGE.raw() << 12,
            0x8000_0000_0000_0000,
            1,
            Status::BadAddress,
        ),
        (
            RW_PAGE.raw() << 12 | 1,
            0x1000,
            u64::MAX,
            Status::InvalidArgument,
        ),
        (u64::MAX, 0x1000, 1, Status::Denied),
    ];
    for (address, buffer, len, want) in hostile_copies {
        // SAFETY: every buffer is outside this guest's memory or the length
        // is refused: the hypervisor writes nothing.
        let got = unsafe {
            hv::call(request::GrantCopyFrom {
                domain: granter as u64,
                address,
                buffer,
                len,
            })
        };
        expect("hostile copy", got, want);
    }
    // SAFETY: the call takes integers only.
    let flags = unsafe {
        hv::call(request::GrantMap {
            domain: granter as u64,
            reference: RW_PAGE.raw(),
            flags: 6,
        })
    };
    expect("unknown map flags", flags, Status::InvalidArgument);
    expect(
        "map from no domain",
        hv::grant::map(999, RW_PAGE, false),
        Status::BadPort,
    );
    expect(
        "map from a huge domain id",
        hv::grant::map(u32::MAX, RW_PAGE, false),
        Status::BadPort,
    );
    expect(
        "unmap nothing",
        hv::grant::unmap(WINDOW_BASE),
        Status::InvalidArgument,
    );
    expect(
        "unmap address 0",
        hv::grant::unmap(0),
        Status::InvalidArgument,
    );
    println!("stale, forged and someone else's references denied; bad copies refused");

    let rw_gpa = ok("map read-write", hv::grant::map(granter, RW_PAGE, true));
    expect(
        "double map",
        hv::grant::map(granter, RW_PAGE, false),
        Status::AlreadyBound,
    );
    let ro_gpa = ok("map read-only", hv::grant::map(granter, RO_PAGE, false));
    let ro_va = MAPPED_VA + 0x1000;
    map_window(ro_va, ro_gpa);
    check!(
        read(ro_va + 5) == pattern(5),
        "read through the read-only mapping"
    );
    WATCHED.store(ro_va, Ordering::SeqCst);
    write(ro_va + 5, 0xee);
    let faults = FAULTS.load(Ordering::SeqCst);
    let code = FAULT_CODE.load(Ordering::SeqCst);
    check!(
        faults == 1,
        "{faults} faults for a write to a read-only grant"
    );
    check!(code & 0b11 == 0b11, "fault error code {code:#x}");
    ok(
        "copy_from",
        hv::grant::copy_from(granter, RO_PAGE, 5, &mut byte),
    );
    check!(byte[0] == pattern(5), "the read-only page was written");
    println!("write through a read-only mapping: page fault (error {code:#x}), page intact");
    WATCHED.store(0, Ordering::SeqCst);
    paging::unmap(paging::current_root(), ro_va);
    ok("unmap read-only", hv::grant::unmap(ro_gpa));

    let mut mapped = 1;
    let mut refused = 0;
    for slot in 4..GRANTS_MAX {
        match hv::grant::map(granter, GrantRef::first(slot), false) {
            Ok(gpa) => {
                check!(gpa == window_address(mapped), "map {slot} at {gpa:#x}");
                mapped += 1;
            }
            Err(Status::LimitReached) => refused += 1,
            Err(status) => scenario::fail(format_args!("map {slot}: {}", status.name())),
        }
    }
    check!(mapped == MAPS_MAX, "{mapped} mapped");
    check!(
        refused == GRANTS_MAX - 4 - (MAPS_MAX - 1),
        "{refused} refused"
    );
    for slot in 1..MAPS_MAX {
        ok("unmap", hv::grant::unmap(window_address(slot)));
    }
    println!("{mapped} grants mapped at once, {refused} more refused");

    map_window(MAPPED_VA, rw_gpa);
    // The hypervisor never reaches a granted page through the grantee's
    // addresses: as a pointer argument it is not the caller's memory.
    // SAFETY: the hypervisor refuses these buffers and touches nothing.
    let window_buffers = unsafe {
        [
            hv::call(request::ConsoleWrite {
                ptr: MAPPED_VA,
                len: 8,
            }),
            hv::call(request::GrantCopyFrom {
                domain: granter as u64,
                address: RW_PAGE.raw() << 12,
                buffer: MAPPED_VA + 64,
                len: 16,
            })
            .map(|()| 0),
            hv::call(request::GrantCopyTo {
                domain: granter as u64,
                address: RW_PAGE.raw() << 12 | 64,
                buffer: MAPPED_VA,
                len: 16,
            })
            .map(|()| 0),
        ]
    };
    for got in window_buffers {
        expect("a window page as a buffer", got, Status::BadAddress);
    }
    println!("the mapped page refused as a buffer of console_write and the copies");
    write_bytes(MAPPED_VA + FLAG as u64, b"MAPPED");
    wait_for_text(MAPPED_VA, ACK, b"BUSY");
    paging::unmap(paging::current_root(), MAPPED_VA);
    ok("unmap read-write", hv::grant::unmap(rw_gpa));
    ok(
        "flag",
        hv::grant::copy_to(granter, RW_PAGE, SECOND as u64, b"UNMAPPED"),
    );
    wait_for_grant(granter, GrantRef::new(0, 2));
    ok(
        "flag",
        hv::grant::copy_to(granter, GrantRef::new(0, 2), SEEN as u64, b"SEEN"),
    );
    expect(
        "the ended grant of slot 0",
        hv::grant::map(granter, RW_PAGE, false),
        Status::Denied,
    );
    println!("unmapped after the granter saw BUSY; slot 0 granted again at generation 2");
}

/// The third domain: the granter's grants to the grantee are denied to
/// it; its own grant works.
fn hostile_third(granter: u32) {
    wait_for_grant(granter, THIRDS);
    let mut byte = [0u8; 1];
    expect(
        "map another domain's grant",
        hv::grant::map(granter, RW_PAGE, false),
        Status::Denied,
    );
    expect(
        "copy from another domain's grant",
        hv::grant::copy_from(granter, RW_PAGE, 0, &mut byte),
        Status::Denied,
    );
    expect(
        "copy into another domain's grant",
        hv::grant::copy_to(granter, RW_PAGE, 0, b"x"),
        Status::Denied,
    );
    let gpa = ok("map its own grant", hv::grant::map(granter, THIRDS, false));
    check!(gpa == WINDOW_BASE, "mapped at {gpa:#x}");
    ok("unmap its own grant", hv::grant::unmap(gpa));
    println!("another domain's grant denied, its own mapped and unmapped");
}

/// Lends a page, waits until the grantee has it mapped, then ends (exits
/// or crashes) without ending the grant.
fn revoke_granter(grantee: u32, crash: bool) {
    let page = patterned_page();
    let virt = phys_to_virt(page) as u64;
    let reference = ok("grant_access", hv::grant::access(grantee, page, false));
    check!(reference == GrantRef::first(0), "first grant");
    wait_for_text(virt, FLAG, b"MAPPED");
    if crash {
        println!("crashing with the page mapped");
        // SAFETY: an invalid opcode, on purpose: this domain has no handler
        // for it, so the hypervisor stops it.
        unsafe { core::arch::asm!("ud2") };
    }
    println!("ending with the page mapped");
}

/// Maps the granter's page and reads it until the access faults (the
/// granter ended and the hypervisor revoked the mapping).
fn revoke_grantee(granter: u32) {
    let reference = GrantRef::first(0);
    wait_for_grant(granter, reference);
    let gpa = ok("grant_map", hv::grant::map(granter, reference, true));
    map_window(MAPPED_VA, gpa);
    check!(read(MAPPED_VA + 9) == pattern(9), "pattern");
    WATCHED.store(MAPPED_VA, Ordering::SeqCst);
    write_bytes(MAPPED_VA + FLAG as u64, b"MAPPED");
    let mut reads = 0u64;
    wait("the revocation", || {
        reads += 1;
        read(MAPPED_VA + 9);
        FAULTS.load(Ordering::SeqCst) != 0
    });
    let code = FAULT_CODE.load(Ordering::SeqCst);
    println!("access to the revoked page faulted (error {code:#x}) after {reads} reads");
    expect(
        "unmap a revoked page",
        hv::grant::unmap(gpa),
        Status::InvalidArgument,
    );
    expect(
        "map from the ended granter",
        hv::grant::map(granter, reference, false),
        Status::BadPort,
    );
    paging::unmap(paging::current_root(), MAPPED_VA);
    println!("window slot empty after the revocation");
}

/// Lends a page; once the grantee has it mapped, ending the grant is
/// refused; after the grantee (which ends with the page mapped) is gone,
/// it succeeds.
fn orphan_granter(grantee: u32, name: &str) {
    let page = patterned_page();
    let virt = phys_to_virt(page) as u64;
    let reference = ok("grant_access", hv::grant::access(grantee, page, false));
    wait_for_text(virt, FLAG, b"MAPPED");
    expect("end while mapped", hv::grant::end(reference), Status::Busy);
    write_bytes(virt + ACK as u64, b"BUSY");
    wait("the grantee's end", || match hv::grant::end(reference) {
        Ok(()) => true,
        Err(Status::Busy) => false,
        Err(status) => scenario::fail(format_args!("grant_end: {}", status.name())),
    });
    expect(
        "the grantee is gone",
        hv::events::domain_lookup(name).map(|_| ()),
        Status::BadPort,
    );
    println!("grant ended once the grantee was gone");
}

/// Maps the granter's page and, once the granter has seen `BUSY`, ends
/// with it mapped.
fn orphan_grantee(granter: u32) {
    let reference = GrantRef::first(0);
    wait_for_grant(granter, reference);
    let gpa = ok("grant_map", hv::grant::map(granter, reference, true));
    map_window(MAPPED_VA, gpa);
    write_bytes(MAPPED_VA + FLAG as u64, b"MAPPED");
    wait_for_text(MAPPED_VA, ACK, b"BUSY");
    println!("ending with the page mapped");
}
