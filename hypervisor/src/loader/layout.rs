//! Placing a validated guest image in guest-physical and guest-virtual memory.
//!
//! Guest-physical memory is handed out from address 0 upwards: first the
//! segments, then the stack, then the boot-information page; everything
//! after that is reported to the guest as usable. Guest-virtual placement
//! follows the kernel's `.bootloader-config`: a fixed address is honoured
//! when it is free, and each dynamic mapping (stack, boot information,
//! physical memory) gets the next free 512 GiB slot of the lower half.

use bootloader_api::config::Mapping;

use super::boot_info::write_boot_info;
use super::elf_image::GuestImage;
use crate::mm::address::{GuestFrame, GuestPhysAddr, GuestVirtAddr, PAGE_SIZE, align_up};
use crate::mm::guest_memory::{self, GuestPhysMemory};
use crate::mm::page_table::{MapError, PageFlags};

/// Bytes covered by one PML4 slot.
const SLOT_SIZE: u64 = 1 << 39;
/// PML4 slots of the guest's lower half.
const LOWER_HALF_SLOTS: u64 = 256;
/// Largest stack a guest may ask for.
pub const MAX_STACK: u64 = 4 << 20;

/// Makes guest-virtual mappings on behalf of the loader.
pub trait GuestMapper {
    /// Maps the 4 KiB `page` to guest `frame` with `flags` (USER is implied).
    fn map(
        &mut self,
        page: GuestVirtAddr,
        frame: GuestFrame,
        flags: PageFlags,
    ) -> Result<(), MapError>;
}

/// Where the loaded guest starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadedGuest {
    /// Entry point.
    pub entry: GuestVirtAddr,
    /// Initial stack pointer (16-byte aligned minus 8, as after a `call`).
    pub stack_pointer: GuestVirtAddr,
    /// Address of the `BootInfo`, passed in `rdi`.
    pub boot_info: GuestVirtAddr,
    /// Guest-physical bytes used by the loader (the rest is usable).
    pub used: u64,
}

/// Why loading failed after validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// Not enough guest memory for segments, stack and boot information.
    OutOfGuestMemory,
    /// A requested fixed address is unusable (misaligned, upper half, taken).
    BadFixedAddress(&'static str, u64),
    /// The image asks for a feature this hypervisor does not provide.
    Unsupported(&'static str),
    /// The stack asked for is larger than [`MAX_STACK`].
    StackTooLarge(u64),
    /// Mapping failed (out of page-table memory or a conflict).
    Map(MapError),
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LoadError::OutOfGuestMemory => {
                write!(f, "the domain's memory is too small for the image")
            }
            LoadError::BadFixedAddress(what, addr) => {
                write!(
                    f,
                    "cannot place the {what} at the requested address {addr:#x}"
                )
            }
            LoadError::Unsupported(what) => write!(f, "unsupported boot option: {what}"),
            LoadError::StackTooLarge(size) => {
                write!(f, "stack of {size} bytes requested (at most {MAX_STACK})")
            }
            LoadError::Map(error) => write!(f, "mapping failed: {error:?}"),
        }
    }
}

impl From<MapError> for LoadError {
    fn from(error: MapError) -> Self {
        LoadError::Map(error)
    }
}

impl From<guest_memory::OutOfRange> for LoadError {
    fn from(_: guest_memory::OutOfRange) -> Self {
        LoadError::OutOfGuestMemory
    }
}

/// Hands out guest-physical frames from 0 upwards.
struct FrameBump {
    next: u64,
    limit: u64,
}

impl FrameBump {
    fn take(&mut self, pages: u64) -> Result<GuestPhysAddr, LoadError> {
        let start = self.next;
        let end = pages
            .checked_mul(PAGE_SIZE)
            .and_then(|bytes| start.checked_add(bytes))
            .filter(|end| *end <= self.limit)
            .ok_or(LoadError::OutOfGuestMemory)?;
        self.next = end;
        Ok(GuestPhysAddr(start))
    }
}

/// Tracks which PML4 slots of the lower half are in use.
struct Slots(u64, u64, u64, u64);

impl Slots {
    fn mark(&mut self, range: core::ops::Range<u64>) {
        let first = range.start / SLOT_SIZE;
        let last = (range.end - 1) / SLOT_SIZE;
        for slot in first..=last.min(LOWER_HALF_SLOTS - 1) {
            let word = match slot / 64 {
                0 => &mut self.0,
                1 => &mut self.1,
                2 => &mut self.2,
                _ => &mut self.3,
            };
            *word |= 1 << (slot % 64);
        }
    }

    fn is_free(&self, slot: u64) -> bool {
        let word = [self.0, self.1, self.2, self.3][(slot / 64) as usize];
        word & (1 << (slot % 64)) == 0
    }

    /// Places a mapping of `size` bytes: at `fixed` if given and free, else in
    /// the next free slot from 1 up (slot 0 holds most kernels' code).
    fn place(&mut self, what: &'static str, mapping: Mapping, size: u64) -> Result<u64, LoadError> {
        let start = match mapping {
            Mapping::FixedAddress(addr) => {
                let end = addr
                    .checked_add(size)
                    .filter(|end| *end <= LOWER_HALF_SLOTS * SLOT_SIZE);
                let free = end.is_some_and(|end| {
                    (addr / SLOT_SIZE..=(end - 1) / SLOT_SIZE).all(|slot| self.is_free(slot))
                });
                if addr % PAGE_SIZE != 0 || addr == 0 || !free {
                    return Err(LoadError::BadFixedAddress(what, addr));
                }
                addr
            }
            Mapping::Dynamic => {
                let slot = (1..LOWER_HALF_SLOTS)
                    .find(|slot| self.is_free(*slot))
                    .ok_or(LoadError::BadFixedAddress(what, 0))?;
                slot * SLOT_SIZE
            }
        };
        self.mark(start..start + size);
        Ok(start)
    }
}

/// Maps `pages` pages from `virt` to consecutive guest frames from `phys`.
fn map_run(
    mapper: &mut impl GuestMapper,
    virt: u64,
    phys: GuestPhysAddr,
    pages: u64,
    flags: PageFlags,
) -> Result<(), LoadError> {
    for page in 0..pages {
        mapper.map(
            GuestVirtAddr(virt + page * PAGE_SIZE),
            GuestFrame(phys.frame().number() + page),
            flags,
        )?;
    }
    Ok(())
}

/// Loads `image` into `memory` (which must be zeroed), mapping it through
/// `mapper`, and writes the `BootInfo`.
pub fn load(
    image: &GuestImage<'_>,
    memory: &impl GuestPhysMemory,
    mapper: &mut impl GuestMapper,
) -> Result<LoadedGuest, LoadError> {
    let config = &image.config;
    if config.mappings.page_table_recursive.is_some() {
        return Err(LoadError::Unsupported("recursive page-table mapping"));
    }
    let mut bump = FrameBump {
        next: 0,
        limit: memory.size(),
    };
    let mut slots = Slots(0, 0, 0, 0);

    for segment in &image.segments {
        let pages = segment.page_range();
        slots.mark(pages.clone());
        let page_count = (pages.end - pages.start) / PAGE_SIZE;
        let base = bump.take(page_count)?;
        let mut flags = PageFlags::empty();
        flags.set(PageFlags::WRITABLE, segment.writable);
        flags.set(PageFlags::NO_EXECUTE, !segment.executable);
        map_run(mapper, pages.start, base, page_count, flags)?;
        let file_bytes = &image.bytes
            [segment.file_offset as usize..(segment.file_offset + segment.file_size) as usize];
        guest_memory::write(
            memory,
            GuestPhysAddr(base.as_u64() + segment.vaddr - pages.start),
            file_bytes,
        )?;
    }
    let kernel_len = bump.next;

    let stack_size = align_up(config.kernel_stack_size.max(PAGE_SIZE), PAGE_SIZE)
        .filter(|size| *size <= MAX_STACK)
        .ok_or(LoadError::StackTooLarge(config.kernel_stack_size))?;
    let stack_pages = stack_size / PAGE_SIZE;
    // One unmapped guard page below the stack.
    let stack_region = slots.place(
        "stack",
        config.mappings.kernel_stack,
        stack_size + PAGE_SIZE,
    )?;
    let stack_bottom = stack_region + PAGE_SIZE;
    let stack_phys = bump.take(stack_pages)?;
    map_run(
        mapper,
        stack_bottom,
        stack_phys,
        stack_pages,
        PageFlags::WRITABLE | PageFlags::NO_EXECUTE,
    )?;

    let physical_memory_offset = match config.mappings.physical_memory {
        Some(mapping) => Some(slots.place("physical-memory mapping", mapping, memory.size())?),
        None => None,
    };

    let boot_info_virt = slots.place("boot information", config.mappings.boot_info, PAGE_SIZE)?;
    let boot_info_phys = bump.take(1)?;
    map_run(
        mapper,
        boot_info_virt,
        boot_info_phys,
        1,
        PageFlags::WRITABLE | PageFlags::NO_EXECUTE,
    )?;
    let used = bump.next;

    if let Some(offset) = physical_memory_offset {
        map_run(
            mapper,
            offset,
            GuestPhysAddr(0),
            memory.size() / PAGE_SIZE,
            PageFlags::WRITABLE | PageFlags::NO_EXECUTE,
        )?;
    }

    write_boot_info(
        memory,
        boot_info_phys,
        GuestVirtAddr(boot_info_virt),
        &super::boot_info::BootFacts {
            memory_size: memory.size(),
            used,
            kernel_len,
            physical_memory_offset,
            stack_bottom,
            stack_size,
        },
    )?;

    let stack_top = stack_bottom + stack_size;
    Ok(LoadedGuest {
        entry: GuestVirtAddr(image.entry),
        stack_pointer: GuestVirtAddr(stack_top - 8),
        boot_info: GuestVirtAddr(boot_info_virt),
        used,
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::elf_image::validate;
    use super::super::test_elf::typical;
    use super::*;
    use crate::mm::guest_memory::fake::FakeGuestMemory;
    use bootloader_api::BootloaderConfig;
    use std::collections::BTreeMap;

    /// Records mappings instead of building tables.
    #[derive(Default)]
    struct Recorder(BTreeMap<u64, (u64, PageFlags)>);

    impl GuestMapper for Recorder {
        fn map(
            &mut self,
            page: GuestVirtAddr,
            frame: GuestFrame,
            flags: PageFlags,
        ) -> Result<(), MapError> {
            match self.0.insert(page.as_u64(), (frame.number(), flags)) {
                Some(_) => Err(MapError::AlreadyMapped),
                None => Ok(()),
            }
        }
    }

    fn load_with(
        config: BootloaderConfig,
        memory_size: usize,
    ) -> (Result<LoadedGuest, LoadError>, Recorder, FakeGuestMemory) {
        let bytes = typical(&config);
        let image = validate(&bytes, memory_size as u64).unwrap();
        let memory = FakeGuestMemory::new(memory_size);
        let mut recorder = Recorder::default();
        let result = load(&image, &memory, &mut recorder);
        (result, recorder, memory)
    }

    #[test]
    fn loads_segments_stack_and_boot_info() {
        let mut config = BootloaderConfig::new_default();
        config.kernel_stack_size = 0x4000;
        config.mappings.physical_memory = Some(Mapping::Dynamic);
        let (result, maps, memory) = load_with(config, 1 << 20);
        let loaded = result.unwrap();
        assert_eq!(loaded.entry, GuestVirtAddr(0x20_1000));
        // Code is read-only and executable; data is writable and NX.
        let (code_frame, code_flags) = maps.0[&0x20_1000];
        assert!(
            !code_flags.contains(PageFlags::WRITABLE)
                && !code_flags.contains(PageFlags::NO_EXECUTE)
        );
        let (data_frame, data_flags) = maps.0[&0x20_3000];
        assert!(data_flags.contains(PageFlags::WRITABLE | PageFlags::NO_EXECUTE));
        let bytes = memory.contents();
        assert_eq!(bytes[(code_frame * PAGE_SIZE) as usize], 0xc3);
        assert_eq!(bytes[(data_frame * PAGE_SIZE) as usize], 0xaa);
        assert_eq!(
            bytes[(data_frame * PAGE_SIZE) as usize + 0x10],
            0,
            "bss is zero"
        );
        // The stack is mapped below its top, with an unmapped guard page.
        let top = loaded.stack_pointer.as_u64() + 8;
        assert_eq!(top % 16, 0);
        assert!(maps.0.contains_key(&(top - PAGE_SIZE)));
        assert!(maps.0.contains_key(&(top - 0x4000)));
        assert!(!maps.0.contains_key(&(top - 0x5000)));
        // Boot information: memory regions patched to the guest address.
        let (info_frame, _) = maps.0[&loaded.boot_info.as_u64()];
        let info_at = (info_frame * PAGE_SIZE) as usize;
        let field = info_at + core::mem::offset_of!(bootloader_api::BootInfo, memory_regions);
        let ptr = u64::from_le_bytes(bytes[field..field + 8].try_into().unwrap());
        let len = u64::from_le_bytes(bytes[field + 8..field + 16].try_into().unwrap());
        assert_eq!(len, 2);
        assert_eq!(ptr & !(PAGE_SIZE - 1), loaded.boot_info.as_u64());
        // All of guest memory is mapped at the physical-memory offset.
        let mapped_phys = maps
            .0
            .iter()
            .filter(|(_, (_, f))| f.contains(PageFlags::NO_EXECUTE))
            .count();
        assert!(mapped_phys as u64 >= (1 << 20) / PAGE_SIZE);
    }

    #[test]
    fn refuses_what_cannot_be_placed() {
        let mut config = BootloaderConfig::new_default();
        config.kernel_stack_size = MAX_STACK + 1;
        assert_eq!(
            load_with(config, 1 << 20).0.unwrap_err(),
            LoadError::StackTooLarge(MAX_STACK + 1)
        );

        let mut config = BootloaderConfig::new_default();
        config.mappings.kernel_stack = Mapping::FixedAddress(0x20_0000);
        assert!(matches!(
            load_with(config, 1 << 20).0,
            Err(LoadError::BadFixedAddress("stack", _))
        ));

        let mut config = BootloaderConfig::new_default();
        config.mappings.page_table_recursive = Some(Mapping::Dynamic);
        assert!(matches!(
            load_with(config, 1 << 20).0,
            Err(LoadError::Unsupported(_))
        ));

        let mut config = BootloaderConfig::new_default();
        config.kernel_stack_size = 0x10_0000;
        assert_eq!(
            load_with(config, 0x10_0000).0.unwrap_err(),
            LoadError::OutOfGuestMemory
        );
    }

    #[test]
    fn honours_a_free_fixed_address() {
        let mut config = BootloaderConfig::new_default();
        config.mappings.boot_info = Mapping::FixedAddress(0x4000_0000_0000);
        let loaded = load_with(config, 1 << 20).0.unwrap();
        assert_eq!(loaded.boot_info, GuestVirtAddr(0x4000_0000_0000));
    }
}
