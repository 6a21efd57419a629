//! The hypervisor as its guests' bootloader: validate an image, then load it
//! into a domain's memory following the `bootloader_api` boot protocol.
//!
//! [`elf_image`] checks the image; [`layout`] loads segments, builds the stack
//! and the `BootInfo` in guest memory and asks a [`GuestMapper`] to map them,
//! so the same code drives real domains and host tests.

pub mod boot_info;
pub mod elf_image;
pub mod layout;
#[cfg(test)]
mod test_elf;

pub use layout::{GuestMapper, LoadError, LoadedGuest, load};
