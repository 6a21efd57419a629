//! Loading a program into a new address space: its segments, a stack with
//! its arguments, and where its heap starts.
//!
//! The stack is [`STACK_BYTES`] below the top of user space. At entry `rsp`
//! (16-byte aligned) points at `argc`, followed by `argc` pointers to the
//! arguments (NUL-terminated strings higher up the stack) and a null
//! pointer, as on System V x86_64.

use alloc::string::String;
use alloc::vec::Vec;

use shared_abi::page_table::PageFlags;
use shared_abi::syscall::Error;

use super::address_space::{AddressSpace, SpaceError};
use super::elf::{self, Segment};
use super::{STACK_BYTES, STACK_TOP, UserAddress, user_memory};
use crate::memory::phys_to_virt;

const PAGE: u64 = 4096;

/// A program ready to run.
pub struct Image {
    pub space: AddressSpace,
    pub entry: u64,
    pub stack_pointer: u64,
    /// The page after the highest segment: where the heap starts.
    pub break_start: u64,
}

impl From<SpaceError> for Error {
    fn from(error: SpaceError) -> Self {
        match error {
            SpaceError::OutOfMemory => Error::NoMemory,
            SpaceError::KernelInUserSpace => Error::Unsupported,
            SpaceError::BadPage => Error::InvalidArgument,
        }
    }
}

/// Loads the executable `file` into a new space sharing `kernel_root`'s
/// kernel part, with `args` on its stack.
pub fn load(file: &[u8], args: &[String], kernel_root: u64) -> Result<Image, Error> {
    let executable = elf::parse(file)?;
    let mut space = AddressSpace::new(kernel_root)?;
    let mut break_start = 0;
    for segment in &executable.segments {
        map_segment(&mut space, file, segment)?;
        let end = segment.address + segment.memory_size;
        break_start = break_start.max(end.next_multiple_of(PAGE));
    }
    let stack_flags = PageFlags::WRITABLE | PageFlags::NO_EXECUTE;
    let mut page = STACK_TOP - STACK_BYTES;
    while page < STACK_TOP {
        space.map_new(UserAddress(page), stack_flags)?;
        page += PAGE;
    }
    let stack_pointer = push_arguments(&space, args)?;
    Ok(Image {
        space,
        entry: executable.entry,
        stack_pointer,
        break_start,
    })
}

/// Maps the pages of `segment` (sharing a page with an earlier segment
/// when they overlap, with the rights of both) and copies its bytes.
fn map_segment(space: &mut AddressSpace, file: &[u8], segment: &Segment) -> Result<(), Error> {
    let mut flags = PageFlags::empty();
    flags.set(PageFlags::WRITABLE, segment.writable);
    flags.set(PageFlags::NO_EXECUTE, !segment.executable);
    let first = segment.address & !(PAGE - 1);
    let end = segment.address + segment.memory_size;
    let mut page = first;
    while page < end {
        match space.translate(UserAddress(page)) {
            Some((frame, old)) => {
                let mut merged = flags;
                merged.set(
                    PageFlags::WRITABLE,
                    segment.writable || old.contains(PageFlags::WRITABLE),
                );
                merged.set(
                    PageFlags::NO_EXECUTE,
                    !segment.executable && old.contains(PageFlags::NO_EXECUTE),
                );
                space.map(UserAddress(page), frame, merged)?;
            }
            None => {
                space.map_new(UserAddress(page), flags)?;
            }
        }
        page += PAGE;
    }
    let start = segment.file_offset as usize;
    let bytes = &file[start..start + segment.file_size as usize];
    let mut at = segment.address;
    let mut rest = bytes;
    while !rest.is_empty() {
        let (frame, _) = space
            .translate(UserAddress(at))
            .ok_or(Error::NotExecutable)?;
        let piece = ((PAGE - at % PAGE) as usize).min(rest.len());
        // SAFETY: `frame` is the page just mapped for this process (not
        // yet running), reached through the physical-memory mapping;
        // `piece` stays within it.
        unsafe { core::ptr::copy_nonoverlapping(rest.as_ptr(), phys_to_virt(frame), piece) };
        rest = &rest[piece..];
        at += piece as u64;
    }
    Ok(())
}

/// Writes `argc`, `argv` and the strings at the top of the stack; returns
/// the initial stack pointer.
fn push_arguments(space: &AddressSpace, args: &[String]) -> Result<u64, Error> {
    let strings: usize = args.iter().map(|arg| arg.len() + 1).sum();
    let string_base = (STACK_TOP - strings as u64) & !0xf;
    let mut block = Vec::with_capacity(strings);
    let mut pointers = Vec::with_capacity(args.len() + 2);
    pointers.push(args.len() as u64);
    for arg in args {
        pointers.push(string_base + block.len() as u64);
        block.extend_from_slice(arg.as_bytes());
        block.push(0);
    }
    pointers.push(0);
    let table_bytes = pointers.len() as u64 * 8;
    let stack_pointer = (string_base - table_bytes) & !0xf;
    if STACK_TOP - stack_pointer > STACK_BYTES / 2 {
        return Err(Error::InvalidArgument);
    }
    let table: Vec<u8> = pointers.iter().flat_map(|p| p.to_le_bytes()).collect();
    user_memory::copy_out(space, string_base, &block)?;
    user_memory::copy_out(space, stack_pointer, &table)?;
    Ok(stack_pointer)
}
