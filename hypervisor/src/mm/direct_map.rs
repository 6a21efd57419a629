//! The direct map: all machine memory mapped, supervisor-only and
//! non-executable, at [`DIRECT_MAP_BASE`] in every address space.
//!
//! It is how the hypervisor reaches page tables, guest frames and boot data.
//! Mapping `DIRECT_MAP_BASE + ma` to `ma` is set up by the boot trampoline
//! for the first 4 GiB and kept by [`kernel_space`](super::kernel_space).

use super::address::MachineAddr;

/// Virtual address of machine address 0 (PML4 slot 256).
pub const DIRECT_MAP_BASE: u64 = 0xffff_8000_0000_0000;
/// Bytes of machine memory the direct map covers.
pub const DIRECT_MAP_SIZE: u64 = 64 << 30;

/// The hypervisor's pointer to machine address `addr`.
///
/// The pointer is only valid to dereference if `addr` is below
/// [`DIRECT_MAP_SIZE`] and backed by memory.
pub const fn machine_ptr(addr: MachineAddr) -> *mut u8 {
    (DIRECT_MAP_BASE + addr.as_u64()) as *mut u8
}
