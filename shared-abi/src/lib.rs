//! The hypercall ABI of the microhypervisor: the single source of truth shared by
//! the hypervisor, its guests and the build tooling.
//!
//! Everything that crosses the guest/hypervisor boundary is defined here:
//! hypercall numbers ([`hypercall`]), status codes ([`status`]), the structs
//! passed by pointer ([`start_info`]), the guest bundle format the hypervisor
//! boots from ([`bundle`]) and the hypervisor's exit status ([`exit`]). Structs
//! are `#[repr(C)]` with their size and field offsets asserted at compile time.
//!
//! With the `guest` feature, [`guest`] is the guest runtime: the safe
//! wrappers guest kernels use (no guest code issues `syscall` itself), the
//! entry point ([`entry_point!`]), [`print!`]/[`println!`], memory, events,
//! timer, console and disk helpers. The hypervisor and the build tooling use
//! this crate without it, and then none of that code is compiled. The
//! documentation always shows it (`cfg(doc)`): `cargo doc -p shared-abi`
//! needs no flag, but a guest must enable the feature:
//!
//! ```toml
//! shared-abi = { path = "../shared-abi", features = ["guest"] }
//! ```
#![no_std]

pub mod backend;
pub mod bench;
pub mod blkif;
pub mod block;
pub mod bundle;
pub mod console_feed;
pub mod emulation;
pub mod event;
pub mod exit;
pub mod grant;
pub mod hypercall;
pub mod multicall;
pub mod page_table;
pub mod ring;
pub mod shared_info;
pub mod start_info;
pub mod status;
pub mod syscall;
pub mod trace;
pub mod trap;

#[cfg(any(all(feature = "guest", target_arch = "x86_64"), doc))]
pub mod guest;
#[cfg(any(
    all(any(feature = "guest", feature = "user"), target_arch = "x86_64"),
    doc
))]
mod instruction;

pub use hypercall::Hypercall;
pub use status::Status;

/// ABI major version: bumped on any incompatible change.
pub const ABI_MAJOR: u16 = 4;
/// ABI minor version: bumped when calls or fields are added compatibly.
pub const ABI_MINOR: u16 = 0;
/// The version as returned by [`Hypercall::AbiVersion`]: `major << 16 | minor`.
pub const ABI_VERSION: u32 = (ABI_MAJOR as u32) << 16 | ABI_MINOR as u32;
