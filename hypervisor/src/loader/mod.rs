//! The hypervisor as its guests' bootloader: validate an image, then load it
//! into a domain's memory following the `bootloader_api` boot protocol.
//!
//! [`elf_image`] checks the image; [`layout`] loads segments, builds the
//! stack, the `BootInfo` and the guest's initial page tables in guest memory,
//! so the same code drives real domains and host tests.

pub mod boot_info;
pub mod elf_image;
pub mod layout;
#[cfg(test)]
mod test_elf;

pub use layout::{LoadError, LoadedGuest, load};
