//! Grant calls in batches: the grants of several pages made or ended, and
//! copies through several granted pages, in one `multicall` each (as the
//! block frontend and backend do per request), with the same checks and
//! results as one call at a time ([`super::grant`]). A batch of one is
//! made as the call alone, which costs less.
//!
//! ```no_run
//! use shared_abi::guest::grant_batch::{self, Piece};
//! # let (backend, frontend) = (2, 1);
//! // Frontend: lend two pages read-write, for copies only, then take them
//! // back.
//! let mut references = [shared_abi::grant::GrantRef::from_raw(0); 2];
//! let flags = shared_abi::grant::COPY_ONLY;
//! grant_batch::access(backend, &[0x5000, 0x6000], flags, &mut references)?;
//! grant_batch::end(&references);
//! // Backend: 6 KiB of `data` into two granted pages.
//! # use shared_abi::grant::GrantRef;
//! let data = [0u8; 6144];
//! let pieces = [
//!     Piece::new(GrantRef::first(0), 0, 4096),
//!     Piece::new(GrantRef::first(1), 0, 2048),
//! ];
//! grant_batch::copy_to(frontend, &pieces, &data)?;
//! # Ok::<(), shared_abi::Status>(())
//! ```

use crate::Status;
use crate::grant::GrantRef;
use crate::hypercall::request;
use crate::multicall::MulticallEntry;

/// Calls in one batch at most (the longest request's pages).
pub const BATCH: usize = 16;

/// One stretch of a granted page: `len` bytes from `offset` in grant
/// `reference`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    reference: GrantRef,
    offset: u16,
    len: u16,
}

impl Piece {
    /// `len` bytes from `offset` of grant `reference` (the copy calls
    /// refuse a stretch past the page).
    pub fn new(reference: GrantRef, offset: u16, len: u16) -> Self {
        Self {
            reference,
            offset,
            len,
        }
    }

    /// Bytes of the stretch.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the stretch is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The first failure among the batch's results, if any (a batch cut short
/// counts as `INVALID_ARGUMENT`).
fn first_failure(entries: &[MulticallEntry], ran: Result<usize, Status>) -> Result<(), Status> {
    if ran? != entries.len() {
        return Err(Status::InvalidArgument);
    }
    entries
        .iter()
        .try_for_each(|entry| Status::result(entry.result).map(|_| ()))
}

/// Copies `data` into the pieces of domain `domain`'s grants, in order
/// (the first `pieces[0].len()` bytes into the first piece, and so on), in
/// one hypercall.
///
/// # Errors
///
/// [`Status::InvalidArgument`] when there are more than [`BATCH`] pieces,
/// none, or more bytes in them than in `data` (nothing copied); otherwise
/// the first error a copy met, as [`super::grant::copy_to`] (the other
/// pieces are copied all the same).
pub fn copy_to(domain: u32, pieces: &[Piece], data: &[u8]) -> Result<(), Status> {
    let total: usize = pieces.iter().map(Piece::len).sum();
    if pieces.is_empty() || pieces.len() > BATCH || total > data.len() {
        return Err(Status::InvalidArgument);
    }
    if let [one] = pieces {
        // One call costs less alone than in a batch.
        return super::grant::copy_to(domain, one.reference, one.offset.into(), &data[..one.len()]);
    }
    let domain = u64::from(domain);
    // SAFETY: each copy's buffer is a stretch of `data` (the lengths add
    // up to at most its length), which the hypervisor only reads,
    // borrowed for the call.
    unsafe {
        copy_batch(pieces, data.as_ptr() as u64, |address, buffer, len| {
            MulticallEntry::new(request::GrantCopyTo {
                domain,
                address,
                buffer,
                len,
            })
        })
    }
}

/// Copies the pieces of domain `domain`'s grants into `out`, in order, in
/// one hypercall.
///
/// # Errors
///
/// As [`copy_to`], with [`super::grant::copy_from`]'s errors.
pub fn copy_from(domain: u32, pieces: &[Piece], out: &mut [u8]) -> Result<(), Status> {
    let total: usize = pieces.iter().map(Piece::len).sum();
    if pieces.is_empty() || pieces.len() > BATCH || total > out.len() {
        return Err(Status::InvalidArgument);
    }
    if let [one] = pieces {
        return super::grant::copy_from(
            domain,
            one.reference,
            one.offset.into(),
            &mut out[..one.len()],
        );
    }
    let domain = u64::from(domain);
    // SAFETY: each copy's buffer is its own stretch of `out` (disjoint,
    // within its length), exclusively borrowed for the call.
    unsafe {
        copy_batch(pieces, out.as_mut_ptr() as u64, |address, buffer, len| {
            MulticallEntry::new(request::GrantCopyFrom {
                domain,
                address,
                buffer,
                len,
            })
        })
    }
}

/// Runs one grant copy per piece in one `multicall`: `copy(address,
/// buffer, len)` makes the entry for a piece, its grant's copy address and
/// its stretch of the buffer at `base`, the pieces back to back.
///
/// # Safety
///
/// The pieces' lengths must add up to no more than the buffer at `base`,
/// which must stay borrowed for the call (exclusively, when the copies
/// write it).
unsafe fn copy_batch(
    pieces: &[Piece],
    base: u64,
    copy: impl Fn(u64, u64, u64) -> MulticallEntry,
) -> Result<(), Status> {
    let mut batch = [MulticallEntry::default(); BATCH];
    let mut at = 0;
    for (entry, piece) in batch.iter_mut().zip(pieces) {
        let address = piece
            .reference
            .copy_address(u64::from(piece.offset))
            .ok_or(Status::InvalidArgument)?;
        *entry = copy(address, base + at, u64::from(piece.len));
        at += u64::from(piece.len);
    }
    let entries = &mut batch[..pieces.len()];
    // SAFETY: the caller vouches for the buffer behind every entry.
    let ran = unsafe { super::multicall_unchecked(entries) };
    first_failure(entries, ran)
}

/// Lends this domain's pages at guest-physical `pages` to domain `domain`
/// with the `grant_access` `flags` ([`READ_ONLY`](crate::grant::READ_ONLY),
/// [`COPY_ONLY`](crate::grant::COPY_ONLY)) in one hypercall; their
/// references go to `references` in order.
///
/// # Errors
///
/// [`Status::InvalidArgument`] when there are no pages, more than
/// [`BATCH`], or fewer `references` than pages (nothing granted);
/// otherwise the first error of a grant, as [`super::grant::access_with`],
/// and then the grants that were made are ended again.
pub fn access(
    domain: u32,
    pages: &[u64],
    flags: u64,
    references: &mut [GrantRef],
) -> Result<(), Status> {
    if pages.is_empty() || pages.len() > BATCH || references.len() < pages.len() {
        return Err(Status::InvalidArgument);
    }
    if let [gpa] = pages {
        references[0] = super::grant::access_with(domain, *gpa, flags)?;
        return Ok(());
    }
    let mut batch = [MulticallEntry::default(); BATCH];
    for (entry, &gpa) in batch.iter_mut().zip(pages) {
        *entry = MulticallEntry::new(request::GrantAccess {
            domain: u64::from(domain),
            gpa,
            flags,
        });
    }
    let entries = &mut batch[..pages.len()];
    // SAFETY: as for `grant::access`: the pages are only lent to the
    // grantee; the hypervisor keeps no pointer into this domain's address
    // space.
    let ran = unsafe { super::multicall_unchecked(entries) };
    let mut made = [GrantRef::from_raw(0); BATCH];
    let mut count = 0;
    for entry in &entries[..ran.unwrap_or(0).min(pages.len())] {
        if let Ok(raw) = Status::result(entry.result) {
            made[count] = GrantRef::from_raw(raw);
            count += 1;
        }
    }
    if count < pages.len() {
        end(&made[..count]);
        return Err(first_failure(entries, ran)
            .err()
            .unwrap_or(Status::InvalidArgument));
    }
    references[..count].copy_from_slice(&made[..count]);
    Ok(())
}

/// Ends this domain's grants `references` in one hypercall (each as
/// [`super::grant::end`]; what fails, a grant still mapped for one, is
/// left as it is).
pub fn end(references: &[GrantRef]) {
    if let [one] = references {
        let _ = super::grant::end(*one);
        return;
    }
    for chunk in references.chunks(BATCH) {
        let mut batch = [MulticallEntry::default(); BATCH];
        for (entry, reference) in batch.iter_mut().zip(chunk) {
            *entry = MulticallEntry::new(request::GrantEnd {
                reference: reference.raw(),
            });
        }
        let _ = super::multicall(&mut batch[..chunk.len()]);
    }
}
