//! `multicall(ptr, count)`: a batch of fast calls served in one entry to
//! the hypervisor.
//!
//! The array is `count` [`MulticallEntry`] in guest memory, 64-byte
//! aligned, at most [`MULTICALL_MAX`] entries (so at most two pages). Its
//! pages are translated once, for writing, before any entry runs (through
//! the shadow's writable translation when it has one, as the guest's own
//! writes would go, else by a walk of the guest's tables): the first must
//! translate or the call fails with `BAD_ADDRESS`; a later one that does
//! not ends the batch where the array reaches it. Then each
//! entry is copied out (number and arguments, read once), run through the
//! same handler a single call would use, and its result written back
//! through the same translation. A call that may not be batched
//! ([`batchable`]) or an unknown number gets a status in its result and
//! stops the batch. The call returns how many entries ran.
//!
//! The translation is taken when the call starts: a batched call that
//! changes the guest's mappings (`mmu_set_base`) does not move the array.
//! Every frame written is the domain's own.

use shared_abi::hypercall::request::Multicall;
use shared_abi::multicall::{MULTICALL_MAX, MulticallEntry, batchable};
use shared_abi::{Hypercall, Status};

use super::{FastCall, fast_call};
use crate::domain::table::DomainTable;
use crate::mm::address::{GuestVirtAddr, MachineAddr, PAGE_SIZE};
use crate::mm::direct_map::machine_ptr;

/// Bytes of one entry (its alignment too).
const ENTRY_SIZE: u64 = core::mem::size_of::<MulticallEntry>() as u64;
/// Most pages an aligned array of [`MULTICALL_MAX`] entries spans.
const MAX_PAGES: usize = (MULTICALL_MAX * ENTRY_SIZE).div_ceil(PAGE_SIZE) as usize + 1;

/// The handler of every call that may be batched, by number.
static BATCH_CALLS: [Option<FastCall>; Hypercall::ALL.len()] = {
    let mut table: [Option<FastCall>; Hypercall::ALL.len()] = [None; Hypercall::ALL.len()];
    let mut number = 0;
    while number < table.len() {
        let call = Hypercall::ALL[number];
        if batchable(call) {
            table[number] = fast_call(call);
        }
        number += 1;
    }
    table
};

/// Serves `multicall(ptr, count)` for the calling domain of `table`.
///
/// Errors (nothing ran): `INVALID_ARGUMENT` for a count of 0 or above
/// [`MULTICALL_MAX`], a pointer not aligned to 64 bytes, or an array that
/// wraps; `BAD_ADDRESS` when the array's first page is not mapped
/// writable in the guest's tables (or not the domain's memory).
#[inline]
pub(super) fn multicall(
    table: &mut DomainTable,
    Multicall { ptr, count }: Multicall,
) -> Result<u64, Status> {
    if count == 0 || count > MULTICALL_MAX || !ptr.is_multiple_of(ENTRY_SIZE) {
        return Err(Status::InvalidArgument);
    }
    let end = ptr
        .checked_add(count * ENTRY_SIZE)
        .ok_or(Status::InvalidArgument)?;
    let first_page = ptr / PAGE_SIZE;
    let pages = ((end - 1) / PAGE_SIZE - first_page + 1) as usize;
    let mut frames: [Option<MachineAddr>; MAX_PAGES] = [None; MAX_PAGES];
    let domain = table.caller();
    for (index, frame) in frames.iter_mut().take(pages).enumerate() {
        let page = GuestVirtAddr((first_page + index as u64) * PAGE_SIZE);
        match domain.translate_guest(page, true) {
            Ok(machine) => *frame = Some(machine),
            Err(status) if index == 0 => return Err(status),
            Err(_) => break,
        }
    }
    let mut ran = 0;
    let mut offset = ptr % PAGE_SIZE;
    for frame in frames.into_iter().map_while(|frame| frame) {
        let here = ((PAGE_SIZE - offset) / ENTRY_SIZE).min(count - ran);
        let first = machine_ptr(MachineAddr(frame.as_u64() + offset)).cast::<MulticallEntry>();
        for index in 0..here as usize {
            // SAFETY: `first` is the translation of an aligned entry of this
            // page of the array and `index` stays within the page, so the
            // entry lies in one frame of the domain, reached through the
            // direct map.
            if !run(table, unsafe { first.add(index) }) {
                return Ok(ran);
            }
            ran += 1;
        }
        if ran == count {
            break;
        }
        offset = 0;
    }
    Ok(ran)
}

/// Runs the entry at `entry` (a frame of the calling domain): its number
/// and arguments are copied out first, its result written back. `false`
/// when the entry may not be batched (the batch stops; its result says
/// why).
#[inline(always)]
fn run(table: &mut DomainTable, entry: *mut MulticallEntry) -> bool {
    // SAFETY: `entry` is valid for reads and writes (see the caller); each
    // field is read exactly once, into hypervisor memory.
    let (number, args) = unsafe {
        (
            (&raw const (*entry).number).read_volatile(),
            (&raw const (*entry).args).read_volatile(),
        )
    };
    let (result, ran) = match usize::try_from(number)
        .ok()
        .and_then(|number| BATCH_CALLS.get(number))
    {
        Some(Some(call)) => (call(table, &args), true),
        Some(None) => (Status::InvalidArgument.to_raw(), false),
        None => (Status::UnknownHypercall.to_raw(), false),
    };
    // SAFETY: as above; the guest reads the result back.
    unsafe { (&raw mut (*entry).result).write_volatile(result as i64) };
    ran
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_batchable_call_is_a_fast_call_and_multicall_is_not_batched() {
        for call in Hypercall::ALL {
            let batched = BATCH_CALLS[call as usize].is_some();
            assert_eq!(batched, batchable(call), "{}", call.name());
            if batchable(call) {
                assert!(fast_call(call).is_some(), "{}", call.name());
            }
        }
        assert!(fast_call(Hypercall::Multicall).is_some());
        assert!(BATCH_CALLS[Hypercall::Multicall as usize].is_none());
        assert_eq!(MAX_PAGES, 2);
    }
}
