//! Safe hypercall wrappers for guest kernels (feature `guest`).
//!
//! This is the only place a guest issues `syscall`. Each wrapper takes Rust
//! types, passes pointers and lengths the hypervisor validates, and decodes
//! `rax` into a `Result`.

pub mod devices;
pub mod events;
mod raw;
pub mod trap;
pub mod upcall;

pub use raw::{hypercall, hypercall_number};

use crate::hypercall::{CONSOLE_WRITE_MAX, FlushScope};
use crate::start_info::StartInfo;
use crate::{Hypercall, Status};

/// The hypervisor's ABI version (`major << 16 | minor`).
pub fn abi_version() -> u32 {
    // SAFETY: abi_version takes no arguments and touches no guest memory.
    let raw = unsafe { hypercall(Hypercall::AbiVersion, [0; 5]) };
    raw as u32
}

/// Writes `bytes` to the early console, in pieces of at most
/// [`CONSOLE_WRITE_MAX`] bytes. The hypervisor prefixes each line with the
/// domain's name.
pub fn console_write(bytes: &[u8]) -> Result<(), Status> {
    for chunk in bytes.chunks(CONSOLE_WRITE_MAX as usize) {
        // SAFETY: the hypervisor only reads `chunk.len()` bytes at `chunk`,
        // which this borrow keeps alive for the call.
        let raw = unsafe {
            hypercall(
                Hypercall::ConsoleWrite,
                [chunk.as_ptr() as u64, chunk.len() as u64, 0, 0, 0],
            )
        };
        Status::result(raw)?;
    }
    Ok(())
}

/// Lets the next runnable domain run.
pub fn yield_now() {
    // SAFETY: yield takes no arguments and touches no guest memory.
    unsafe { hypercall(Hypercall::Yield, [0; 5]) };
}

/// Ends this domain with `code` (0 means success).
pub fn shutdown(code: u64) -> ! {
    // SAFETY: shutdown takes a plain integer; it does not return.
    unsafe { hypercall(Hypercall::Shutdown, [code, 0, 0, 0, 0]) };
    // The hypervisor never resumes a domain that shut down.
    loop {
        core::hint::spin_loop();
    }
}

/// Reads this domain's start information.
pub fn start_info() -> Result<StartInfo, Status> {
    let mut info = StartInfo::zeroed();
    let ptr = &mut info as *mut StartInfo as u64;
    // SAFETY: the hypervisor writes at most size_of::<StartInfo>() bytes to
    // `info`, which is exclusively borrowed for the call.
    let raw = unsafe {
        hypercall(
            Hypercall::StartInfo,
            [ptr, core::mem::size_of::<StartInfo>() as u64, 0, 0, 0],
        )
    };
    Status::result(raw).map(|_| info)
}

/// Switches to the address space whose page-table root (guest-physical) is
/// `root`. Cached translations of that address space are kept (see
/// `docs/abi/hypercalls.md`).
pub fn mmu_set_base(root: u64) -> Result<(), Status> {
    // SAFETY: the hypervisor validates the root; a root that maps nothing
    // useful only faults this guest.
    let raw = unsafe { hypercall(Hypercall::MmuSetBase, [root, 0, 0, 0, 0]) };
    Status::result(raw).map(|_| ())
}

/// The current page-table root (guest-physical).
pub fn mmu_get_base() -> u64 {
    // SAFETY: takes no arguments and touches no guest memory.
    unsafe { hypercall(Hypercall::MmuGetBase, [0; 5]) as u64 }
}

/// Drops the translation of the page containing `address`, as `invlpg`.
pub fn mmu_invalidate_page(address: u64) {
    // SAFETY: invalidation only makes the next access walk the tables again.
    unsafe { hypercall(Hypercall::MmuInvalidatePage, [address, 0, 0, 0, 0]) };
}

/// Drops all translations of `scope`, as a CR3 reload would.
pub fn mmu_flush(scope: FlushScope) {
    // SAFETY: as for mmu_invalidate_page.
    unsafe { hypercall(Hypercall::MmuFlush, [scope as u64, 0, 0, 0, 0]) };
}
