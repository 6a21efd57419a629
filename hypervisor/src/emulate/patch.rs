//! In-place patches: the privileged instructions of a patch-mode domain,
//! each rewritten to a one-byte `int3` after its first emulation, and the
//! table that says what each patched site does.
//!
//! A patch replaces only the instruction's first byte; the rest stays as
//! it was (never executed from the patched site, since the patched trap
//! resumes after the whole instruction, and exactly what it was for code
//! that jumps into the middle of it). The record keeps the site's
//! guest-virtual address, the machine address of the patched byte (the
//! same virtual address may hold other code in another address space),
//! the original bytes and the decoded operation.
//!
//! A patch is trusted only while the code is still what the hypervisor
//! left there: at every patched trap the site's bytes are compared with
//! `int3` followed by the original tail ([`Patch::intact`]). If the guest
//! has written anything else over them, the patch is undone (the original
//! first byte written back, the record dropped) and the instruction is
//! run again as the guest's code now reads.

use super::operation::Operation;
use crate::instruction::MAX_INSTRUCTION_BYTES;

/// The breakpoint instruction a patched site starts with.
pub const INT3: u8 = 0xcc;

/// Most patches a domain keeps; later instructions are emulated unpatched.
pub const MAX_PATCHES: usize = 256;

/// One patched instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Patch {
    site: u64,
    location: u64,
    original: [u8; MAX_INSTRUCTION_BYTES],
    operation: Operation,
}

impl Patch {
    /// The patch of `operation`, whose first byte is at machine address
    /// `location` and whose bytes were `original` (at least its length).
    pub fn new(operation: Operation, location: u64, original: &[u8]) -> Option<Self> {
        let length = operation.length() as usize;
        let mut bytes = [0u8; MAX_INSTRUCTION_BYTES];
        bytes
            .get_mut(..length)?
            .copy_from_slice(original.get(..length)?);
        Some(Self {
            site: operation.address(),
            location,
            original: bytes,
            operation,
        })
    }

    /// The machine address of the patched byte.
    pub fn location(&self) -> u64 {
        self.location
    }

    /// The instruction's original first byte (what undoing writes back).
    pub fn original_first_byte(&self) -> u8 {
        self.original[0]
    }

    /// What the site runs.
    pub fn operation(&self) -> &Operation {
        &self.operation
    }

    /// Bytes of the patched instruction.
    pub fn len(&self) -> usize {
        self.operation.length() as usize
    }

    /// Whether the site holds exactly what patching left there: `int3`,
    /// then the original bytes. `bytes` is what the site holds now (at
    /// least [`Patch::len`] bytes, else it is not intact).
    pub fn intact(&self, bytes: &[u8]) -> bool {
        let len = self.len();
        bytes.len() >= len && bytes[0] == INT3 && bytes[1..len] == self.original[1..len]
    }
}

/// A domain's patches, ordered by site and location.
#[derive(Clone, Debug, Default)]
pub struct PatchTable {
    patches: alloc::vec::Vec<Patch>,
}

impl PatchTable {
    fn position(&self, site: u64, location: u64) -> Result<usize, usize> {
        self.patches
            .binary_search_by_key(&(site, location), |p| (p.site, p.location))
    }

    /// The patch at `site` whose byte is at `location`.
    pub fn find(&self, site: u64, location: u64) -> Option<&Patch> {
        self.position(site, location)
            .ok()
            .map(|index| &self.patches[index])
    }

    /// Records `patch`, replacing a record of the same site and location
    /// (stale: the guest rewrote that code, or the site would not have
    /// faulted as itself); `false` (nothing recorded) when the table is
    /// full.
    pub fn insert(&mut self, patch: Patch) -> bool {
        match self.position(patch.site, patch.location) {
            Ok(index) => self.patches[index] = patch,
            Err(_) if self.patches.len() >= MAX_PATCHES => return false,
            Err(index) => self.patches.insert(index, patch),
        }
        true
    }

    /// Drops the patch at `site` and `location`.
    pub fn remove(&mut self, site: u64, location: u64) -> Option<Patch> {
        let index = self.position(site, location).ok()?;
        Some(self.patches.remove(index))
    }

    /// Patches recorded.
    pub fn count(&self) -> usize {
        self.patches.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulate::operation::decode;

    fn patch(bytes: &[u8], site: u64, location: u64) -> Patch {
        Patch::new(decode(bytes, site).unwrap(), location, bytes).unwrap()
    }

    #[test]
    fn intact_means_int3_then_the_original_tail() {
        let mov_cr3 = patch(&[0x0f, 0x22, 0xd8], 0x1000, 0x9000);
        assert!(mov_cr3.intact(&[INT3, 0x22, 0xd8, 0x90]));
        assert!(!mov_cr3.intact(&[0x0f, 0x22, 0xd8]), "the original itself");
        assert!(!mov_cr3.intact(&[INT3, 0x22, 0xd9]), "tail rewritten");
        assert!(!mov_cr3.intact(&[INT3, 0x22]), "too short to tell");
        assert_eq!(mov_cr3.original_first_byte(), 0x0f);
        let cli = patch(&[0xfa], 0x2000, 0xa000);
        assert!(cli.intact(&[INT3]));
        let sti_hlt = patch(&[0xfb, 0xf4], 0x3000, 0xb000);
        assert_eq!(sti_hlt.len(), 2);
        assert!(!sti_hlt.intact(&[INT3, 0x90]), "the hlt is part of it");
    }

    #[test]
    fn the_table_keys_by_site_and_location_and_is_bounded() {
        let mut table = PatchTable::default();
        assert!(table.insert(patch(&[0xfa], 0x1000, 0x9000)));
        assert!(
            table.insert(patch(&[0xfb], 0x1000, 0x9000)),
            "a stale record is replaced"
        );
        assert_eq!(table.count(), 1);
        assert_eq!(
            table.find(0x1000, 0x9000).map(|p| p.original_first_byte()),
            Some(0xfb)
        );
        assert!(
            table.insert(patch(&[0xfb], 0x1000, 0x5000)),
            "another space's code"
        );
        assert_eq!(
            table.find(0x1000, 0x5000).map(|p| p.original_first_byte()),
            Some(0xfb)
        );
        assert_eq!(table.find(0x1000, 0x7000), None);
        assert!(table.remove(0x1000, 0x9000).is_some());
        assert_eq!(table.find(0x1000, 0x9000), None);
        for site in 0..MAX_PATCHES as u64 * 2 {
            table.insert(patch(&[0xfa], site * 16, site));
        }
        assert_eq!(table.count(), MAX_PATCHES);
    }
}
