//! A lying block backend (the driver's `lie=yes`), for the scenario that
//! checks a frontend's defences against a broken or hostile backend: a
//! read at one of the sectors below gets an answer no honest backend
//! gives. The sectors are agreed with the frontend that tests them
//! (`blockfront mode=lied-to`), so each knows what to expect.

use core::ptr::NonNull;

use shared_abi::blkif::{BackRing, Ring, Shared};
use volatile::{VolatilePtr, map_field};

/// What a lying backend answers instead of the truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lie {
    /// A status outside every defined one.
    Status(u32),
    /// A response that names a request never made (the real one is never
    /// answered).
    ForgedId,
    /// The response producer moved far past the requests made.
    ResponsesAhead,
    /// The response producer moved back behind the responses already
    /// consumed.
    ResponsesBack,
}

/// Sector (in the frontend's region) of the status `u32::MAX`.
pub const STATUS_MAX: u64 = 1001;
/// Sector of the status `u32::MAX - 1`.
pub const STATUS_MAX_LESS_ONE: u64 = 1002;
/// Sector of the forged response id.
pub const FORGED_ID: u64 = 1003;
/// Sector of the response producer far ahead.
pub const RESPONSES_AHEAD: u64 = 1004;
/// Sector of the response producer moved back.
pub const RESPONSES_BACK: u64 = 1005;

/// The lie told about a request at `sector`, if any.
pub fn for_sector(sector: u64) -> Option<Lie> {
    match sector {
        STATUS_MAX => Some(Lie::Status(u32::MAX)),
        STATUS_MAX_LESS_ONE => Some(Lie::Status(u32::MAX - 1)),
        FORGED_ID => Some(Lie::ForgedId),
        RESPONSES_AHEAD => Some(Lie::ResponsesAhead),
        RESPONSES_BACK => Some(Lie::ResponsesBack),
        _ => None,
    }
}

/// Answers request `id` on `ring` (in the page `page`) with `lie`.
///
/// # Safety
///
/// `page` must be the mapped, writable ring page `shared` is a view of.
pub unsafe fn tell(
    lie: Lie,
    ring: &mut BackRing,
    shared: Shared<'_>,
    page: NonNull<Ring>,
    id: u64,
) {
    match lie {
        Lie::Status(status) => ring.respond(shared, id, status),
        Lie::ForgedId => ring.respond(shared, id.wrapping_add(1 << 8), 0),
        Lie::ResponsesAhead | Lie::ResponsesBack => {
            ring.respond(shared, id, 0);
            // SAFETY: as the caller promised; the frontend may change the
            // page at any time, which a volatile pointer allows for.
            let page = unsafe { VolatilePtr::new(page) };
            let producer = map_field!(page.response_producer);
            let told = producer.read();
            producer.write(match lie {
                Lie::ResponsesAhead => told.wrapping_add(1000),
                _ => told.wrapping_sub(2),
            });
        }
    }
}
