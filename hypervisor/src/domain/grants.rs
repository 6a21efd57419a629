//! What grants do to domains: a mapping leaves the grantee's
//! guest-physical space with its shadow translations, and a domain that
//! ends takes every grant relation with it (see `crate::grant`), before
//! its memory is freed. Here because both need the whole domain table.

use shared_abi::grant::{MAPS_MAX, window_address};

use super::table::DomainTable;
use crate::grant::window::Mapping;
use crate::mm::address::GuestPhysAddr;

/// Removes the mapping in map slot `slot` of the live domain `grantee`:
/// the page leaves its guest-physical space (with every shadow
/// translation of it) and the granter's count of mappings goes down.
pub fn unmap_slot(table: &mut DomainTable, grantee: u32, slot: u64) -> Option<Mapping> {
    let domain = table.domain(grantee)?;
    let mapping = domain.window_mut().remove(slot)?;
    domain.unmap_foreign(GuestPhysAddr(window_address(slot)).frame());
    if let Some(granter) = table.domain(mapping.granter) {
        granter.grants_mut().drop_map(mapping.reference);
    }
    Some(mapping)
}

/// Ends every grant relation of the domain `id`, which is ending and
/// still live: its own mappings are released, and every mapping of its
/// pages in another domain is revoked (reported), before its memory is
/// freed.
pub fn release(table: &mut DomainTable, id: u32) {
    for slot in 0..MAPS_MAX {
        unmap_slot(table, id, slot);
    }
    for granter in table.live_mut() {
        granter.grants_mut().end_all_to(id);
    }
    // Every mapping of its pages is counted in its table.
    if !table.domain(id).is_some_and(|d| d.grants().any_mapped()) {
        return;
    }
    let domains = table.iter().len();
    for index in 0..domains {
        let grantee = table.at(index);
        if !grantee.is_alive() || grantee.id() == id {
            continue;
        }
        let grantee = grantee.id();
        for slot in 0..MAPS_MAX {
            let held = table
                .domain(grantee)
                .and_then(|domain| domain.window().get(slot))
                .is_some_and(|mapping| mapping.granter == id);
            if held && let Some(mapping) = unmap_slot(table, grantee, slot) {
                let domain = table.at(index);
                log::info!(
                    "domain {} '{}': grant {:#x} of domain {id} revoked at {:#x}",
                    domain.id(),
                    domain.name(),
                    mapping.reference.raw(),
                    window_address(slot)
                );
            }
        }
    }
}
