//! Typed addresses: machine, guest-physical and guest-virtual addresses (and
//! their page frames) are distinct types so that they cannot be mixed up.
//!
//! *Machine* addresses are what the hardware sees (host physical memory).
//! *Guest-physical* addresses are a domain's own view of "physical" memory,
//! starting at 0; the domain's p2m table maps them to machine frames.
//! *Guest-virtual* addresses are what guest code uses.

use core::fmt;

/// Size of a base page.
pub const PAGE_SIZE: u64 = 4096;
/// Size of a large (2 MiB) page.
pub const LARGE_PAGE_SIZE: u64 = 2 * 1024 * 1024;

macro_rules! address_type {
    ($(#[$doc:meta])* $name:ident, $frame:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[repr(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The raw value.
            pub const fn as_u64(self) -> u64 {
                self.0
            }
            /// The frame containing this address.
            pub const fn frame(self) -> $frame {
                $frame(self.0 / PAGE_SIZE)
            }
            /// The offset within the page.
            pub const fn page_offset(self) -> u64 {
                self.0 % PAGE_SIZE
            }
            /// This address plus `bytes`, or `None` on overflow.
            pub fn checked_add(self, bytes: u64) -> Option<Self> {
                self.0.checked_add(bytes).map(Self)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, ":{:#x}"), self.0)
            }
        }

        /// A page frame number in the same address space.
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[repr(transparent)]
        pub struct $frame(pub u64);

        impl $frame {
            /// The frame's first address.
            pub const fn start(self) -> $name {
                $name(self.0 * PAGE_SIZE)
            }
            /// The frame number.
            pub const fn number(self) -> u64 {
                self.0
            }
        }

        impl fmt::Debug for $frame {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "fn:{:#x}"), self.0)
            }
        }
    };
}

address_type!(
    /// A machine (host-physical) address.
    MachineAddr, MachineFrame, "ma"
);
address_type!(
    /// A guest-physical address, relative to the domain's own memory.
    GuestPhysAddr, GuestFrame, "gpa"
);
address_type!(
    /// A guest-virtual address.
    GuestVirtAddr, GuestPage, "gva"
);

/// Rounds `value` up to a multiple of `align` (a power of two), or `None` on
/// overflow.
pub fn align_up(value: u64, align: u64) -> Option<u64> {
    debug_assert!(align.is_power_of_two());
    value.checked_add(align - 1).map(|v| v & !(align - 1))
}

/// Rounds `value` down to a multiple of `align` (a power of two).
pub const fn align_down(value: u64, align: u64) -> u64 {
    value & !(align - 1)
}

pub use shared_abi::page_table::is_canonical;

/// The end of guest-virtual space: the lower half less its last page. A
/// page there never maps, so no instruction ends at the first
/// non-canonical address (`0x8000_0000_0000`): returning to one (`iretq`
/// after an emulated instruction, `sysretq` after a `syscall` in the last
/// bytes) would fault in ring 0 (on Intel CPUs, with the guest's stack).
pub const GUEST_TOP: u64 = 0x7fff_ffff_f000;

/// Whether a guest may use `addr`: below [`GUEST_TOP`].
pub const fn is_guest_address(addr: u64) -> bool {
    addr < GUEST_TOP
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_alignment() {
        let addr = GuestPhysAddr(0x3456);
        assert_eq!(addr.frame(), GuestFrame(3));
        assert_eq!(addr.page_offset(), 0x456);
        assert_eq!(GuestFrame(3).start(), GuestPhysAddr(0x3000));
        assert_eq!(align_up(0x1001, PAGE_SIZE), Some(0x2000));
        assert_eq!(align_up(u64::MAX, PAGE_SIZE), None);
        assert_eq!(align_down(0x1fff, PAGE_SIZE), 0x1000);
    }

    #[test]
    fn canonical_addresses() {
        assert!(is_canonical(0x0000_7fff_ffff_ffff));
        assert!(is_canonical(0xffff_8000_0000_0000));
        assert!(!is_canonical(0x0000_8000_0000_0000));
        assert!(is_guest_address(0x1000));
        assert!(is_guest_address(GUEST_TOP - 1));
        assert!(!is_guest_address(0x7fff_ffff_ffff));
        assert!(!is_guest_address(0xffff_8000_0000_0000));
    }
}
