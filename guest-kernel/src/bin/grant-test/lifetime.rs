//! `grant-revoked-*`: a grant outlives neither side. A granter that ends
//! with its page mapped has the mapping revoked (the grantee's next access
//! faults); a grantee that ends with it mapped lets the granter end the
//! grant.

use core::sync::atomic::Ordering;

use guest_kernel::memory::paging;
use guest_kernel::memory::phys_to_virt;
use guest_kernel::{check, hv, println, scenario};
use shared_abi::Status;
use shared_abi::grant::GrantRef;

use super::{
    ACK, FAULT_CODE, FAULTS, FLAG, MAPPED_VA, WATCHED, map_window, ok, pattern, patterned_page,
    read, refused, wait, wait_for_grant, wait_for_text, write_bytes,
};

/// Lends a page, waits until the grantee has it mapped, then ends (exits
/// or crashes) without ending the grant.
pub(crate) fn revoke_granter(grantee: u32, crash: bool) {
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
pub(crate) fn revoke_grantee(granter: u32) {
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
    refused(
        "unmap a revoked page",
        hv::grant::unmap(gpa),
        Status::InvalidArgument,
    );
    refused(
        "map from the ended granter",
        hv::grant::map(granter, reference, false),
        Status::BadPort,
    );
    paging::unmap(paging::current_root(), MAPPED_VA);
    println!("window slot empty after the revocation");
}

/// Lends a page; once the grantee has it mapped, ending the grant is
/// refused; when the grantee (which ends with the page mapped) is gone,
/// the grant has ended with it: the reference names nothing any more (a
/// grant never outlives either side, so a later domain with the same
/// identifier, a restarted one, cannot use it).
pub(crate) fn orphan_granter(grantee: u32, name: &str) {
    let page = patterned_page();
    let virt = phys_to_virt(page) as u64;
    let reference = ok("grant_access", hv::grant::access(grantee, page, false));
    wait_for_text(virt, FLAG, b"MAPPED");
    refused("end while mapped", hv::grant::end(reference), Status::Busy);
    write_bytes(virt + ACK as u64, b"BUSY");
    wait("the grantee's end", || match hv::grant::end(reference) {
        Err(Status::Busy) => false,
        Err(Status::InvalidArgument) => true,
        Ok(()) => scenario::fail(format_args!("the grant outlived its grantee")),
        Err(status) => scenario::fail(format_args!("grant_end: {}", status.name())),
    });
    refused(
        "the grantee is gone",
        hv::events::domain_lookup(name).map(|_| ()),
        Status::BadPort,
    );
    println!("grant ended with its grantee");
}

/// Maps the granter's page and, once the granter has seen `BUSY`, ends
/// with it mapped.
pub(crate) fn orphan_grantee(granter: u32) {
    let reference = GrantRef::first(0);
    wait_for_grant(granter, reference);
    let gpa = ok("grant_map", hv::grant::map(granter, reference, true));
    map_window(MAPPED_VA, gpa);
    write_bytes(MAPPED_VA + FLAG as u64, b"MAPPED");
    wait_for_text(MAPPED_VA, ACK, b"BUSY");
    println!("ending with the page mapped");
}
