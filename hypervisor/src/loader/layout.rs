//! Placing a validated guest image in guest-physical and guest-virtual memory.
//!
//! Guest-physical memory is handed out from address 0 upwards: the
//! segments, the stack, the boot-information page and the page tables the
//! loader builds for the guest (in guest memory, in the guest's own format,
//! exactly as a bootloader would); everything after that is reported to the
//! guest as usable. The guest starts on those tables and may edit or replace
//! them; the hypervisor only ever shadows them. Guest-virtual placement
//! follows the kernel's `.bootloader-config`: a fixed address is honoured
//! when it is free, and each dynamic mapping (stack, boot information,
//! physical memory) gets the next free 512 GiB slot of the lower half.
//! Every mapping is the guest kernel's: none has the user bit, so none is
//! reachable from guest-user mode until the guest kernel maps it so.

use bootloader_api::config::Mapping;

use super::boot_info::write_boot_info;
use super::elf_image::GuestImage;
use crate::mm::address::{GuestPhysAddr, GuestVirtAddr, LARGE_PAGE_SIZE, PAGE_SIZE, align_up};
use crate::mm::guest_memory::{self, GuestPhysMemory};
use crate::mm::page_table::{self, MapError, PageFlags, PageSize, TableMemory};

/// Bytes covered by one PML4 slot.
const SLOT_SIZE: u64 = 1 << 39;
/// PML4 slots of the guest's lower half.
const LOWER_HALF_SLOTS: u64 = 256;
/// Largest stack a guest may ask for.
pub const MAX_STACK: u64 = 4 << 20;

/// Where the loaded guest starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadedGuest {
    /// Entry point.
    pub entry: GuestVirtAddr,
    /// Initial stack pointer (16-byte aligned minus 8, as after a `call`).
    pub stack_pointer: GuestVirtAddr,
    /// Address of the `BootInfo`, passed in `rdi`.
    pub boot_info: GuestVirtAddr,
    /// Root of the page tables built for the guest (its initial CR3).
    pub page_table_root: GuestPhysAddr,
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

/// Hands out guest-physical frames from 0 upwards, and builds the guest's
/// page tables in them.
struct Builder<'a, M: GuestPhysMemory> {
    memory: &'a M,
    next: u64,
    root: u64,
}

impl<M: GuestPhysMemory> Builder<'_, M> {
    fn take(&mut self, pages: u64) -> Result<GuestPhysAddr, LoadError> {
        let start = self.next;
        let end = pages
            .checked_mul(PAGE_SIZE)
            .and_then(|bytes| start.checked_add(bytes))
            .filter(|end| *end <= self.memory.size())
            .ok_or(LoadError::OutOfGuestMemory)?;
        self.next = end;
        Ok(GuestPhysAddr(start))
    }

    /// Maps `pages` 4 KiB pages from `virt` to consecutive frames from `phys`.
    fn map_run(
        &mut self,
        virt: u64,
        phys: GuestPhysAddr,
        pages: u64,
        flags: PageFlags,
    ) -> Result<(), LoadError> {
        let root = self.root;
        for page in 0..pages {
            let offset = page * PAGE_SIZE;
            page_table::map(
                self,
                root,
                virt + offset,
                phys.as_u64() + offset,
                PageSize::Size4K,
                flags,
            )?;
        }
        Ok(())
    }

    /// Maps `bytes` from `virt` to `phys` with 2 MiB pages where both are
    /// aligned, 4 KiB pages elsewhere.
    fn map_range(
        &mut self,
        virt: u64,
        phys: GuestPhysAddr,
        bytes: u64,
        flags: PageFlags,
    ) -> Result<(), LoadError> {
        let root = self.root;
        let mut offset = 0;
        while offset < bytes {
            let (v, p) = (virt + offset, phys.as_u64() + offset);
            if v % LARGE_PAGE_SIZE == 0
                && p % LARGE_PAGE_SIZE == 0
                && bytes - offset >= LARGE_PAGE_SIZE
            {
                page_table::map(self, root, v, p, PageSize::Size2M, flags)?;
                offset += LARGE_PAGE_SIZE;
            } else {
                self.map_run(v, GuestPhysAddr(p), 1, flags)?;
                offset += PAGE_SIZE;
            }
        }
        Ok(())
    }
}

impl<M: GuestPhysMemory> TableMemory for Builder<'_, M> {
    fn read_entry(&self, table: u64, index: usize) -> u64 {
        guest_memory::read_u64(self.memory, GuestPhysAddr(table + 8 * index as u64)).unwrap_or(0)
    }
    fn write_entry(&mut self, table: u64, index: usize, value: u64) {
        let _ =
            guest_memory::write_u64(self.memory, GuestPhysAddr(table + 8 * index as u64), value);
    }
    fn alloc_table(&mut self) -> Option<u64> {
        // Guest memory arrives zeroed, so the new table is empty.
        self.take(1).ok().map(|table| table.as_u64())
    }
    fn free_table(&mut self, _table: u64) {}
}

/// Tracks which PML4 slots of the lower half are in use.
struct Slots([bool; LOWER_HALF_SLOTS as usize]);

impl Slots {
    fn mark(&mut self, range: core::ops::Range<u64>) {
        let first = range.start / SLOT_SIZE;
        let last = (range.end - 1) / SLOT_SIZE;
        for slot in first..=last.min(LOWER_HALF_SLOTS - 1) {
            self.0[slot as usize] = true;
        }
    }

    fn is_free(&self, slot: u64) -> bool {
        !self.0[slot as usize]
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

/// Loads `image` into `memory` (which must be zeroed), builds the guest's
/// page tables there, and writes the `BootInfo`.
pub fn load(
    image: &GuestImage<'_>,
    memory: &impl GuestPhysMemory,
) -> Result<LoadedGuest, LoadError> {
    let config = &image.config;
    if config.mappings.page_table_recursive.is_some() {
        return Err(LoadError::Unsupported("recursive page-table mapping"));
    }
    let mut bump = Builder {
        memory,
        next: 0,
        root: 0,
    };
    bump.root = bump.take(1)?.as_u64();
    let kernel_addr = bump.next;
    let mut slots = Slots([false; LOWER_HALF_SLOTS as usize]);

    for segment in &image.segments {
        let pages = segment.page_range();
        slots.mark(pages.clone());
        let page_count = (pages.end - pages.start) / PAGE_SIZE;
        let base = bump.take(page_count)?;
        let mut flags = PageFlags::empty();
        flags.set(PageFlags::WRITABLE, segment.writable);
        flags.set(PageFlags::NO_EXECUTE, !segment.executable);
        bump.map_run(pages.start, base, page_count, flags)?;
        let file_bytes = &image.bytes
            [segment.file_offset as usize..(segment.file_offset + segment.file_size) as usize];
        guest_memory::write(
            memory,
            GuestPhysAddr(base.as_u64() + segment.vaddr - pages.start),
            file_bytes,
        )?;
    }
    let kernel_len = bump.next - kernel_addr;

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
    let data = PageFlags::WRITABLE | PageFlags::NO_EXECUTE;
    bump.map_run(stack_bottom, stack_phys, stack_pages, data)?;

    let physical_memory_offset = match config.mappings.physical_memory {
        Some(mapping) => Some(slots.place("physical-memory mapping", mapping, memory.size())?),
        None => None,
    };
    if let Some(offset) = physical_memory_offset {
        bump.map_range(offset, GuestPhysAddr(0), memory.size(), data)?;
    }

    let boot_info_virt = slots.place("boot information", config.mappings.boot_info, PAGE_SIZE)?;
    let boot_info_phys = bump.take(1)?;
    bump.map_run(boot_info_virt, boot_info_phys, 1, data)?;
    let used = bump.next;

    write_boot_info(
        memory,
        boot_info_phys,
        GuestVirtAddr(boot_info_virt),
        &super::boot_info::BootFacts {
            memory_size: memory.size(),
            used,
            kernel_addr,
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
        page_table_root: GuestPhysAddr(bump.root),
        used,
    })
}

#[cfg(test)]
mod tests {
    use super::super::elf_image::validate;
    use super::super::test_elf::typical;
    use super::*;
    use crate::mm::guest_memory::fake::FakeGuestMemory;
    use crate::mm::guest_walk::{self, Access, GuestMapping};
    use bootloader_api::BootloaderConfig;

    fn load_with(
        config: BootloaderConfig,
        memory_size: usize,
    ) -> (Result<LoadedGuest, LoadError>, FakeGuestMemory) {
        let bytes = typical(&config);
        let image = validate(&bytes, memory_size as u64).unwrap();
        let memory = FakeGuestMemory::new(memory_size);
        let result = load(&image, &memory);
        (result, memory)
    }

    /// Walks the guest tables the loader built.
    fn lookup(memory: &FakeGuestMemory, loaded: &LoadedGuest, virt: u64) -> Option<GuestMapping> {
        guest_walk::walk(
            memory,
            loaded.page_table_root,
            GuestVirtAddr(virt),
            Access::default(),
        )
        .ok()
    }

    #[test]
    fn loads_segments_stack_and_boot_info() {
        let mut config = BootloaderConfig::new_default();
        config.kernel_stack_size = 0x4000;
        config.mappings.physical_memory = Some(Mapping::Dynamic);
        let (result, memory) = load_with(config, 4 << 20);
        let loaded = result.unwrap();
        assert_eq!(loaded.entry, GuestVirtAddr(0x20_1000));
        // Code is read-only and executable; data is writable and NX.
        let code = lookup(&memory, &loaded, 0x20_1000).unwrap();
        assert!(!code.writable && code.executable);
        let data = lookup(&memory, &loaded, 0x20_3000).unwrap();
        assert!(data.writable && !data.executable);
        let bytes = memory.contents();
        assert_eq!(bytes[code.phys.as_u64() as usize], 0xc3);
        assert_eq!(bytes[data.phys.as_u64() as usize], 0xaa);
        assert_eq!(bytes[data.phys.as_u64() as usize + 0x10], 0, "bss is zero");
        // The stack is mapped below its top, with an unmapped guard page.
        let top = loaded.stack_pointer.as_u64() + 8;
        assert_eq!(top % 16, 0);
        assert!(lookup(&memory, &loaded, top - PAGE_SIZE).is_some());
        assert!(lookup(&memory, &loaded, top - 0x4000).is_some());
        assert!(lookup(&memory, &loaded, top - 0x5000).is_none());
        // Boot information: memory regions patched to the guest address.
        let info = lookup(&memory, &loaded, loaded.boot_info.as_u64())
            .unwrap()
            .phys
            .as_u64() as usize;
        let field = info + core::mem::offset_of!(bootloader_api::BootInfo, memory_regions);
        let ptr = u64::from_le_bytes(bytes[field..field + 8].try_into().unwrap());
        let len = u64::from_le_bytes(bytes[field + 8..field + 16].try_into().unwrap());
        assert_eq!(len, 2);
        assert_eq!(ptr & !(PAGE_SIZE - 1), loaded.boot_info.as_u64());
        // All of guest memory is mapped at the physical-memory offset, with
        // 2 MiB pages.
        let offset = 1u64 << 40;
        for phys in [0u64, 0x1234, (4 << 20) - 8] {
            let mapping = lookup(&memory, &loaded, offset + phys).unwrap();
            assert_eq!(mapping.phys, GuestPhysAddr(phys));
            assert_eq!(mapping.size, PageSize::Size2M);
        }
        assert!(lookup(&memory, &loaded, offset + (4 << 20)).is_none());
        // The tables themselves lie in the loader's part of memory.
        assert!(loaded.page_table_root.as_u64() < loaded.used);
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
