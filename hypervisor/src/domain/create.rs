//! Building a domain from a bundle entry: validate the image, allocate and
//! zero its memory, load it (with its initial page tables), create its shadow
//! state, and set up its vCPU
//! at the entry point. Any failure frees what was allocated and names the
//! reason; it never affects other domains.

use alloc::string::{String, ToString};
use core::fmt;

use super::memory::DomainMemory;
use super::paging;
use super::record::Domain;
use super::vcpu::{Registers, Vcpu};
use crate::loader::elf_image::{self, ImageError};
use crate::loader::{self, LoadError};

/// Why a domain could not be created.
#[derive(Debug)]
pub enum CreateError {
    /// The image failed validation.
    Image(ImageError),
    /// Loading failed.
    Load(LoadError),
    /// The machine has no memory left for this domain.
    OutOfMachineMemory(u64),
}

impl fmt::Display for CreateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CreateError::Image(error) => write!(f, "{error}"),
            CreateError::Load(error) => write!(f, "{error}"),
            CreateError::OutOfMachineMemory(bytes) => {
                write!(f, "not enough machine memory for {} MiB", bytes >> 20)
            }
        }
    }
}

/// How a domain's memory is laid out in machine memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Frame by frame, wherever the allocator finds them.
    Scattered,
    /// One machine-contiguous run (the driver domain's, for DMA).
    Contiguous,
}

/// Creates domain `id` named `name` from `image` with `memory_bytes`,
/// placed as `placement` says.
pub fn create(
    id: u32,
    name: &str,
    args: &str,
    image: &[u8],
    memory_bytes: u64,
    placement: Placement,
) -> Result<Domain, CreateError> {
    let image = elf_image::validate(image, memory_bytes).map_err(CreateError::Image)?;
    let memory = match placement {
        Placement::Scattered => DomainMemory::allocate(memory_bytes),
        Placement::Contiguous => DomainMemory::allocate_contiguous(memory_bytes),
    }
    .ok_or(CreateError::OutOfMachineMemory(memory_bytes))?;
    let loaded = loader::load(&image, &memory).map_err(CreateError::Load)?;
    let shadow = paging::new_shadow(loaded.page_table_root)
        .ok_or(CreateError::OutOfMachineMemory(memory_bytes))?;
    let regs = Registers {
        rip: loaded.entry.as_u64(),
        rsp: loaded.stack_pointer.as_u64(),
        rdi: loaded.boot_info.as_u64(),
        rflags: 0x202,
        ..Registers::default()
    };
    log::info!(
        "domain {id} '{name}' started ({} MiB, entry {:#x})",
        memory_bytes >> 20,
        regs.rip
    );
    Ok(Domain::new(
        id,
        name.to_string(),
        String::from(args),
        memory,
        shadow,
        Vcpu::new(&regs),
    ))
}
