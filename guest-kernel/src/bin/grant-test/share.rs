//! `grant-share`: a page lent read-write, read and answered through a
//! mapping and through copies both ways, unmapped and ended.

use guest_kernel::memory::paging;
use guest_kernel::memory::phys_to_virt;
use guest_kernel::{check, hv, println, scenario};
use shared_abi::Status;
use shared_abi::grant::{GrantRef, WINDOW_BASE};

use super::{
    COPIED, FLAG, MAPPED_VA, REPLY, map_window, ok, pattern, patterned_page, read, read_bytes,
    refused, wait, wait_for_grant, wait_for_text, write_bytes,
};

/// Lends a patterned page read-write, waits for the grantee's reply (in
/// the page) and its last copy (the flag), checks both, ends the grant.
pub(crate) fn granter(grantee: u32) {
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
    refused(
        "grant_end twice",
        hv::grant::end(reference),
        Status::InvalidArgument,
    );
    println!("reply and copy read back; grant ended");
}

/// Maps the granter's first grant, reads its pattern, answers through the
/// mapping and by copies, unmaps, raises the flag and waits for the grant
/// to end.
pub(crate) fn grantee(granter: u32) {
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
    refused(
        "grant_unmap twice",
        hv::grant::unmap(gpa),
        Status::InvalidArgument,
    );
    ok(
        "flag",
        hv::grant::copy_to(granter, reference, FLAG as u64, b"DONE"),
    );
    println!("pattern read through {gpa:#x}, reply written, 64 bytes copied each way, unmapped");
    // Stay until the granter has ended the grant (ending first would end
    // the grant with this domain): then every copy is refused (and once
    // the granter is gone too, it names no domain).
    let mut byte = [0u8; 1];
    wait("the granter's grant_end", || {
        match hv::grant::copy_from(granter, reference, 0, &mut byte) {
            Ok(()) => false,
            Err(Status::Denied | Status::BadPort) => true,
            Err(status) => scenario::fail(format_args!("grant_copy_from: {}", status.name())),
        }
    });
    println!("the ended grant is refused");
}
