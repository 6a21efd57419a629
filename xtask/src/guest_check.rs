//! Checking the user's guests on the host before anything boots: each
//! image is read and put through the hypervisor's own validation and
//! loader (the `hypervisor` crate as a library), against memory of the size
//! the domain will have, so an image the hypervisor would refuse is refused
//! here, with one line naming the guest, and nothing boots half-way.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use hypervisor::loader::{self, elf_image};
use hypervisor::mm::address::GuestFrame;
use hypervisor::mm::guest_memory::GuestPhysMemory;

use crate::guest_spec::GuestOption;

/// One domain to boot from a user's guest.
#[derive(Clone, Debug)]
pub struct UserDomain {
    pub name: String,
    /// The ELF file it boots.
    pub path: std::path::PathBuf,
    pub args: String,
    pub image: Arc<[u8]>,
    /// Memory in bytes, if the guest named it.
    pub mem: Option<u64>,
    /// The disk image, if the guest has one.
    pub disk: Option<std::path::PathBuf>,
    /// How its privileged instructions are served.
    pub mode: shared_abi::emulation::Mode,
    /// The driver domain.
    pub driver: bool,
    /// Restarted by the hypervisor when it stops it.
    pub restart: bool,
}

/// Reads and checks every guest; `default_mem` is the memory of domains
/// that do not name theirs. Returns the domains in order.
pub fn prepare(guests: &[GuestOption], default_mem: u64) -> Result<Vec<UserDomain>, String> {
    crate::guest_spec::check_together(guests)?;
    let mut domains = Vec::new();
    for guest in guests {
        let label = guest.label();
        let image: Arc<[u8]> = read_image(&guest.path)
            .map_err(|error| format!("{label}: {error}"))?
            .into();
        check_image(&image, guest.mem.unwrap_or(default_mem))
            .map_err(|error| format!("{label}: {error}"))?;
        if let Some(disk) = &guest.disk {
            check_disk(disk).map_err(|error| format!("{label}: {error}"))?;
        }
        for name in guest.domain_names() {
            domains.push(UserDomain {
                name,
                path: guest.path.clone(),
                args: guest.args.clone(),
                image: image.clone(),
                mem: guest.mem,
                disk: guest.disk.clone(),
                mode: guest.mode,
                driver: guest.driver,
                restart: guest.restart,
            });
        }
    }
    Ok(domains)
}

fn read_image(path: &Path) -> Result<Vec<u8>, String> {
    crate::input_file::read_regular(path, crate::input_file::MAX_IMAGE_BYTES).map_err(|why| {
        match why.strip_prefix("cannot read it") {
            Some(rest) => format!("cannot read the image{rest}"),
            None => format!("the image {why}"),
        }
    })
}

/// The hypervisor's checks of `image` for a domain of `memory` bytes:
/// validation, then a trial load into memory of that size.
pub fn check_image(image: &[u8], memory: u64) -> Result<(), String> {
    let validated = elf_image::validate(image, memory).map_err(|error| error.to_string())?;
    let trial = SparseMemory::new(memory);
    loader::load(&validated, &trial).map_err(|error| error.to_string())?;
    Ok(())
}

/// A disk image must be a regular file of whole 512-byte sectors.
fn check_disk(path: &Path) -> Result<(), String> {
    let metadata = std::fs::metadata(path)
        .map_err(|error| format!("disk image {}: {error}", path.display()))?;
    if !metadata.is_file() {
        return Err(format!("disk image {} is not a file", path.display()));
    }
    if metadata.len() == 0 || metadata.len() % 512 != 0 {
        return Err(format!(
            "disk image {} is {} bytes, not a whole, non-zero number of 512-byte sectors",
            path.display(),
            metadata.len()
        ));
    }
    Ok(())
}

/// Guest-physical memory whose pages exist only once written: a trial
/// load touches a few of them, however large the domain.
struct SparseMemory {
    size: u64,
    pages: RefCell<HashMap<u64, Box<[u8; 4096]>>>,
}

impl SparseMemory {
    fn new(size: u64) -> Self {
        Self {
            size,
            pages: RefCell::new(HashMap::new()),
        }
    }
}

impl GuestPhysMemory for SparseMemory {
    fn size(&self) -> u64 {
        self.size
    }

    fn frame_ptr(&self, frame: GuestFrame) -> Option<*mut u8> {
        let number = frame.number();
        if number >= self.size / 4096 {
            return None;
        }
        let mut pages = self.pages.borrow_mut();
        let page = pages.entry(number).or_insert_with(|| Box::new([0; 4096]));
        // The box never moves while the map holds it.
        Some(page.as_mut_ptr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_an_elf_image() {
        let error = check_image(b"#!/bin/sh\n", 16 << 20).unwrap_err();
        assert!(error.contains("not an ELF"), "{error}");
    }

    #[test]
    fn sparse_memory_has_exactly_its_size() {
        let memory = SparseMemory::new(4 << 30);
        assert_eq!(memory.size(), 4 << 30);
        assert!(memory.frame_ptr(GuestFrame((4 << 30) / 4096 - 1)).is_some());
        assert!(memory.frame_ptr(GuestFrame((4 << 30) / 4096)).is_none());
        assert_eq!(memory.pages.borrow().len(), 1);
    }
}
