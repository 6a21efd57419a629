//! `grant-hostile`: every misuse of a grant answers its status, and a
//! write through a read-only mapping is the writer's page fault.

use core::sync::atomic::Ordering;

use guest_kernel::memory::paging;
use guest_kernel::memory::phys_to_virt;
use guest_kernel::{check, hv, println, scenario};
use shared_abi::Status;
use shared_abi::grant::{COPY_ONLY, GRANTS_MAX, GrantRef, MAPS_MAX, WINDOW_BASE, window_address};
use shared_abi::hypercall::request;

use super::{
    ACK, FAULT_CODE, FAULTS, FLAG, MAPPED_VA, SECOND, SEEN, WATCHED, map_window, ok, pattern,
    patterned_page, read, read_bytes, refused, wait_for_grant, wait_for_text, write, write_bytes,
};

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
pub(crate) fn granter(grantee: u32, third: u32, memory_bytes: u64) {
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
        refused(
            what,
            hv::grant::access(grantee, gpa, false),
            Status::InvalidArgument,
        );
    }
    refused(
        "to itself",
        hv::grant::access(me, rw, false),
        Status::InvalidArgument,
    );
    refused(
        "to no domain",
        hv::grant::access(999, rw, false),
        Status::BadPort,
    );
    refused(
        "to domain 0",
        hv::grant::access(0, rw, false),
        Status::BadPort,
    );
    // SAFETY: the call takes integers only.
    let flags = unsafe {
        hv::call(request::GrantAccess {
            domain: grantee as u64,
            gpa: rw,
            flags: 4,
        })
    };
    refused("unknown flags", flags, Status::InvalidArgument);
    refused(
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
    refused(
        "grant 65",
        hv::grant::access(grantee, ro, true),
        Status::LimitReached,
    );
    println!("bad pages, flags and domains refused; 64 grants, the 65th refused");
    let virt = phys_to_virt(rw) as u64;
    wait_for_text(virt, FLAG, b"MAPPED");
    refused("end while mapped", hv::grant::end(RW_PAGE), Status::Busy);
    write_bytes(virt + ACK as u64, b"BUSY");
    wait_for_text(virt, SECOND, b"UNMAPPED");
    ok("grant_end after unmap", hv::grant::end(RW_PAGE));
    refused(
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
    // The third domain lends it a page for copies only.
    wait_for_grant(third, GrantRef::first(0));
    refused(
        "map a copy-only grant",
        hv::grant::map(third, GrantRef::first(0), true),
        Status::Denied,
    );
    ok(
        "copy into a copy-only grant",
        hv::grant::copy_to(third, GrantRef::first(0), SEEN as u64, b"SEEN"),
    );
    println!("a copy-only grant: its map denied, a copy into it done");
}

/// Every misuse of the granter's grants, then the read-only write fault,
/// the map limit, a mapped page as a buffer, and the end-while-mapped
/// handshake.
pub(crate) fn grantee(granter: u32) {
    wait_for_grant(granter, LAST);
    refused_uses(granter);
    let rw_gpa = ok("map read-write", hv::grant::map(granter, RW_PAGE, true));
    read_only_write_faults(granter);
    map_limit(granter);
    map_window(MAPPED_VA, rw_gpa);
    window_refused_as_buffer(granter);
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
    refused(
        "the ended grant of slot 0",
        hv::grant::map(granter, RW_PAGE, false),
        Status::Denied,
    );
    println!("unmapped after the granter saw BUSY; slot 0 granted again at generation 2");
}

/// Stale, forged and someone else's references, writes to a read-only
/// grant, copies past the page or to bad buffers, bad flags and domains.
fn refused_uses(granter: u32) {
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
        refused(
            what,
            hv::grant::map(granter, reference, false),
            Status::Denied,
        );
        refused(
            what,
            hv::grant::copy_from(granter, reference, 0, &mut byte),
            Status::Denied,
        );
    }
    ok(
        "the reused slot",
        hv::grant::copy_from(granter, REUSED, 0, &mut byte),
    );
    refused(
        "write map of a read-only grant",
        hv::grant::map(granter, RO_PAGE, true),
        Status::Denied,
    );
    refused(
        "copy into a read-only grant",
        hv::grant::copy_to(granter, RO_PAGE, 0, b"x"),
        Status::Denied,
    );
    refused(
        "copy past the page",
        hv::grant::copy_from(granter, RW_PAGE, 4000, &mut [0u8; 200]),
        Status::InvalidArgument,
    );
    refused(
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
        refused("hostile copy", got, want);
    }
    // SAFETY: the call takes integers only.
    let flags = unsafe {
        hv::call(request::GrantMap {
            domain: granter as u64,
            reference: RW_PAGE.raw(),
            flags: 6,
        })
    };
    refused("unknown map flags", flags, Status::InvalidArgument);
    refused(
        "map from no domain",
        hv::grant::map(999, RW_PAGE, false),
        Status::BadPort,
    );
    refused(
        "map from a huge domain id",
        hv::grant::map(u32::MAX, RW_PAGE, false),
        Status::BadPort,
    );
    refused(
        "unmap nothing",
        hv::grant::unmap(WINDOW_BASE),
        Status::InvalidArgument,
    );
    refused(
        "unmap address 0",
        hv::grant::unmap(0),
        Status::InvalidArgument,
    );
    println!("stale, forged and someone else's references denied; bad copies refused");
}

/// With the read-write grant mapped: mapping it again is refused; a write
/// through a read-only mapping is this guest's page fault.
fn read_only_write_faults(granter: u32) {
    let mut byte = [0u8; 1];
    refused(
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
}

/// With slot 0 of the window taken: the granter's other grants fill the
/// window, the rest are refused.
fn map_limit(granter: u32) {
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
}

/// The read-write grant, mapped at `MAPPED_VA`, as a pointer argument.
fn window_refused_as_buffer(granter: u32) {
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
        refused("a window page as a buffer", got, Status::BadAddress);
    }
    println!("the mapped page refused as a buffer of console_write and the copies");
}

/// The third domain: the granter's grants to the grantee are denied to
/// it; its own grant works.
pub(crate) fn third(granter: u32) {
    wait_for_grant(granter, THIRDS);
    let mut byte = [0u8; 1];
    refused(
        "map another domain's grant",
        hv::grant::map(granter, RW_PAGE, false),
        Status::Denied,
    );
    refused(
        "copy from another domain's grant",
        hv::grant::copy_from(granter, RW_PAGE, 0, &mut byte),
        Status::Denied,
    );
    refused(
        "copy into another domain's grant",
        hv::grant::copy_to(granter, RW_PAGE, 0, b"x"),
        Status::Denied,
    );
    let gpa = ok("map its own grant", hv::grant::map(granter, THIRDS, false));
    check!(gpa == WINDOW_BASE, "mapped at {gpa:#x}");
    ok("unmap its own grant", hv::grant::unmap(gpa));
    println!("another domain's grant denied, its own mapped and unmapped");
    // A page lent for copies only: the granter may copy into it, not map
    // it, so ending the grant is never `BUSY` (it has ended already if
    // the granter has finished: grants never outlive their grantee).
    let page = patterned_page();
    let reference = ok(
        "copy-only grant",
        hv::grant::access_with(granter, page, COPY_ONLY),
    );
    check!(
        reference == GrantRef::first(0),
        "copy-only grant {reference:?}"
    );
    wait_for_text(phys_to_virt(page) as u64, SEEN, b"SEEN");
    let ended = hv::grant::end(reference);
    check!(
        matches!(ended, Ok(()) | Err(Status::InvalidArgument)),
        "end the copy-only grant: {ended:?}"
    );
    println!("its copy-only grant copied into, and never busy to end");
}
