//! The guest runtime (feature `guest`): safe hypercall wrappers and what
//! every guest kernel needs on top of them.
//!
//! **Available with the crate feature `guest`, on x86_64 only** (the
//! wrappers issue `syscall`). The documentation shows this module whatever
//! the features; code sees it only with
//! `shared-abi = { ..., features = ["guest"] }`.
//!
//! This is the only place a guest issues `syscall`. Each wrapper takes Rust
//! types, builds the call's typed [`request`]
//! (pointers and lengths the hypervisor validates), issues it with
//! [`call`] and gets back the call's output or a [`Status`];
//! `docs/abi/hypercalls.md` is the reference for each call. On top of the
//! wrappers:
//!
//! | module | what it gives |
//! |--------|---------------|
//! | [`entry`] | [`entry_point!`](crate::entry_point), the boot config, the panic handler |
//! | [`print`] | [`print!`](crate::print) and [`println!`](crate::println) |
//! | [`memory`] | physical-memory mapping, frame allocator, page-table helper |
//! | [`interrupts`] | shared-information page, port handlers, masking, [`now_ns`](interrupts::now_ns), [`wait_for_event`](interrupts::wait_for_event) |
//! | [`timer`] | periodic tick, one-shot [`sleep`](timer::sleep) |
//! | [`console`] | the split console: output ring, [`read_line`](console::read_line) |
//! | [`block`], [`disk`] | the split block device: requests, sector reads and writes |
//! | [`trap`], [`upcall`] | exception handlers and the event upcall entry |
//! | [`grant`] | grant tables: lending pages to another domain, mapping and copying lent pages |
//! | [`driver`] | the driver domain's device: configuration space, interrupt line, DMA addresses |
//!
//! A guest starts with [`init`] (memory, virtual interrupts, split console),
//! then uses the rest in any order, and ends with [`exit`]:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! use shared_abi::guest::{self as hv, BootInfo};
//! shared_abi::entry_point!(main);
//! fn main(boot_info: &'static mut BootInfo) -> ! {
//!     hv::init(boot_info).expect("runtime");
//!     shared_abi::println!("hello from {}", hv::start_info().expect("start_info").name());
//!     hv::exit(0)
//! }
//! ```
//!
//! The runtime keeps its state in statics: one guest, one vCPU. Code that
//! runs from an event handler (with virtual interrupts masked) must not take
//! a lock that the code it interrupted may hold: the frame allocator and the
//! block queue take locks, so call them with
//! [`interrupts::without`] where handlers use them too.

pub mod backend;
pub mod block;
pub mod block_grant;
mod block_request;
pub mod console;
pub mod console_server;
pub mod devices;
pub mod disk;
pub mod driver;
pub mod entry;
pub mod events;
pub mod grant;
pub mod grant_batch;
pub mod interrupts;
pub mod memory;
pub mod print;
mod raw;
pub mod timer;
pub mod trap;
pub mod upcall;
pub mod user;
pub mod watchdog;

pub use bootloader_api::BootInfo;
pub use raw::{call, hypercall_number};

use crate::Status;
use crate::hypercall::{CONSOLE_WRITE_MAX, FlushScope, request};
use crate::multicall::{MULTICALL_MAX, MulticallEntry, pointer_free_number};
use crate::start_info::StartInfo;

/// Sets up the runtime: [`memory::init`] (frame allocator from `boot_info`),
/// [`interrupts::init`] (shared-information page and upcall, virtual
/// interrupts left masked) and [`console::init`] (the split console: once
/// it is connected to the driver domain's console server, `print!` stops
/// using the early console and [`console::read_line`] works; without a
/// server there is no input). Call it first; calling it again does
/// nothing.
///
/// # Errors
///
/// The errors of [`interrupts::init`] and [`console::init`]; `print!` then
/// still works on the early console.
///
/// # Panics
///
/// If the bootloader config does not map physical memory (the default
/// config of [`entry_point!`](crate::entry_point) does).
pub fn init(boot_info: &BootInfo) -> Result<(), Status> {
    memory::init(boot_info);
    interrupts::init()?;
    if !console::attached() {
        console::init()?;
    }
    Ok(())
}

/// Ends this domain with `code` (0 means success) after the split console
/// has shown everything written so far (use it rather than [`shutdown`]
/// once the split console is attached, or the last lines may be lost).
pub fn exit(code: u64) -> ! {
    console::flush();
    shutdown(code)
}

/// The hypervisor's ABI version (`major << 16 | minor`). Never fails;
/// check the major version against [`ABI_MAJOR`](crate::ABI_MAJOR) before
/// relying on anything else.
#[inline]
pub fn abi_version() -> u32 {
    // SAFETY: abi_version takes no arguments and touches no guest memory.
    unsafe { call(request::AbiVersion) }.unwrap_or(0)
}

/// Writes `bytes` to the early console, in pieces of at most
/// [`CONSOLE_WRITE_MAX`] bytes. Always available (no setup needed),
/// unbuffered and synchronous: meant for boot messages and panics. The
/// hypervisor prefixes each line with the domain's name and shows control
/// characters other than tab as `?`.
///
/// # Errors
///
/// [`Status::BadAddress`] if part of `bytes` is not readable by the guest
/// (it always is for a Rust slice); pieces before the failing one were
/// written.
///
/// ```no_run
/// shared_abi::guest::console_write(b"booting\n").ok();
/// ```
pub fn console_write(bytes: &[u8]) -> Result<(), Status> {
    for chunk in bytes.chunks(CONSOLE_WRITE_MAX as usize) {
        let write = request::ConsoleWrite {
            ptr: chunk.as_ptr() as u64,
            len: chunk.len() as u64,
        };
        // SAFETY: the hypervisor only reads `chunk.len()` bytes at `chunk`,
        // which this borrow keeps alive for the call.
        unsafe { call(write) }?;
    }
    Ok(())
}

/// Lets the next runnable domain run (round robin); returns when this
/// domain runs again. Never needed for fairness: domains are preempted.
#[inline]
pub fn yield_now() {
    // SAFETY: yield takes no arguments and touches no guest memory.
    let _ = unsafe { call(request::Yield) };
}

/// Ends this domain with `code` (0 means success) at once; does not
/// return. Output still in the split console's ring is lost: see [`exit`].
pub fn shutdown(code: u64) -> ! {
    // SAFETY: shutdown takes a plain integer; it does not return.
    let _ = unsafe { call(request::Shutdown { code }) };
    // The hypervisor never resumes a domain that shut down.
    loop {
        core::hint::spin_loop();
    }
}

/// Reads this domain's start information: its id, name, argument string
/// (from the bundle) and memory size. Needs no setup.
///
/// # Errors
///
/// [`Status::BadAddress`] or [`Status::BufferTooSmall`] only if the
/// hypervisor disagrees with this crate about the struct (an ABI mismatch).
///
/// ```no_run
/// let info = shared_abi::guest::start_info().expect("start_info");
/// shared_abi::println!("domain {} '{}' args '{}'", info.domain_id, info.name(), info.args());
/// ```
pub fn start_info() -> Result<StartInfo, Status> {
    let mut info = StartInfo::zeroed();
    let copy = request::StartInfo {
        ptr: &mut info as *mut StartInfo as u64,
        len: core::mem::size_of::<StartInfo>() as u64,
    };
    // SAFETY: the hypervisor writes at most size_of::<StartInfo>() bytes to
    // `info`, which is exclusively borrowed for the call.
    unsafe { call(copy) }.map(|_| info)
}

/// Switches to the address space whose top-level table (PML4) is at
/// guest-physical `root`, as `mov cr3`. The hypervisor keeps the shadows of
/// the last 4 address spaces: translations it cached for `root` before are
/// still used, so invalidate every entry changed since (see the memory
/// contract in `docs/abi/hypercalls.md`).
///
/// # Errors
///
/// [`Status::InvalidArgument`] when `root` is not page-aligned or lies
/// outside the domain's memory.
#[inline]
pub fn mmu_set_base(root: u64) -> Result<(), Status> {
    // SAFETY: the hypervisor validates the root; a root that maps nothing
    // useful only faults this guest.
    unsafe { call(request::MmuSetBase { root }) }
}

/// The current top-level table (guest-physical), as reading `cr3`. At entry
/// it is the table the hypervisor built as the guest's bootloader.
#[inline]
pub fn mmu_get_base() -> u64 {
    // SAFETY: takes no arguments and touches no guest memory.
    unsafe { call(request::MmuGetBase) }.unwrap_or(0)
}

/// Drops the cached translation of the page containing `address` in every
/// cached address space, as `invlpg`. Call it after changing or removing a
/// present entry ([`memory::paging`] does). Any address is accepted.
#[inline]
pub fn mmu_invalidate_page(address: u64) {
    // SAFETY: invalidation only makes the next access walk the tables again.
    let _ = unsafe { call(request::MmuInvalidatePage { address }) };
}

/// Drops all cached translations of `scope` (the current address space, as a
/// CR3 reload, or every cached one). Never fails.
#[inline]
pub fn mmu_flush(scope: FlushScope) {
    let scope = scope as u64;
    // SAFETY: as for mmu_invalidate_page.
    let _ = unsafe { call(request::MmuFlush { scope }) };
}

/// Drops the cached translations of `pages` pages from `start` (each as
/// [`mmu_invalidate_page`]), up to [`INVALIDATE_BATCH`] pages per
/// hypercall through [`multicall`]. Any address is accepted.
pub fn mmu_invalidate_range(start: u64, pages: u64) {
    let mut batch = [MulticallEntry::default(); INVALIDATE_BATCH];
    let mut page = 0;
    while page < pages {
        let here = (pages - page).min(INVALIDATE_BATCH as u64) as usize;
        for (index, entry) in batch[..here].iter_mut().enumerate() {
            let address = start.wrapping_add((page + index as u64) * 4096);
            *entry = MulticallEntry::new(request::MmuInvalidatePage { address });
        }
        // A batch of invalidations in this frame's array cannot be refused;
        // should it be (an ABI mismatch), invalidate one page at a time.
        if multicall(&mut batch[..here]) != Ok(here) {
            for index in 0..here as u64 {
                mmu_invalidate_page(start.wrapping_add((page + index) * 4096));
            }
        }
        page += here as u64;
    }
}

/// Pages [`mmu_invalidate_range`] invalidates per hypercall.
pub const INVALIDATE_BATCH: usize = 32;

/// Runs the calls in `entries` in order in one hypercall (`multicall`):
/// each entry's `result` receives what its call returned (a value, or a
/// negative [`Status`]; decode it with [`Status::result`]). A call that
/// fails does not stop the batch. Returns how many entries ran: all of
/// them, unless the hypervisor stopped at an entry it may not batch (that
/// entry's `result` says why).
///
/// Only calls that take no pointer to guest memory are accepted here
/// ([`pointer_free`](crate::multicall::pointer_free): `abi_version`, the `mmu_*` and event calls,
/// `block_info`, ...), so the batch cannot write anywhere a safe caller did
/// not mean; [`multicall_unchecked`] takes any call.
///
/// # Errors
///
/// [`Status::InvalidArgument`] (nothing ran) when `entries` is empty, longer
/// than [`MULTICALL_MAX`], or holds a call that is unknown or takes a
/// pointer.
///
/// ```no_run
/// use shared_abi::hypercall::request::{AbiVersion, MmuInvalidatePage};
/// use shared_abi::multicall::MulticallEntry;
/// let mut calls = [
///     MulticallEntry::new(AbiVersion),
///     MulticallEntry::new(MmuInvalidatePage { address: 0x4000_0000 }),
/// ];
/// assert_eq!(shared_abi::guest::multicall(&mut calls), Ok(2));
/// assert_eq!(calls[0].result as u32, shared_abi::ABI_VERSION);
/// ```
pub fn multicall(entries: &mut [MulticallEntry]) -> Result<usize, Status> {
    if !entries
        .iter()
        .all(|entry| pointer_free_number(entry.number))
    {
        return Err(Status::InvalidArgument);
    }
    // SAFETY: no entry passes a pointer the hypervisor would follow.
    unsafe { multicall_unchecked(entries) }
}

/// [`multicall`] for any call, pointer arguments included.
///
/// # Errors
///
/// [`Status::InvalidArgument`] when `entries` is empty or longer than
/// [`MULTICALL_MAX`] (nothing ran).
///
/// # Safety
///
/// Each entry's pointer arguments must be valid for what its call does with
/// them, as for [`call`].
#[inline]
pub unsafe fn multicall_unchecked(entries: &mut [MulticallEntry]) -> Result<usize, Status> {
    if entries.is_empty() || entries.len() as u64 > MULTICALL_MAX {
        return Err(Status::InvalidArgument);
    }
    let batch = request::Multicall {
        ptr: entries.as_mut_ptr() as u64,
        count: entries.len() as u64,
    };
    // SAFETY: the hypervisor reads and writes only `entries` (aligned, owned
    // by this exclusive borrow) and the memory the entries' calls name,
    // which the caller vouches for.
    unsafe { call(batch) }.map(|ran| ran as usize)
}
