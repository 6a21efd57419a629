//! Reading QEMU's `hvm_start_info` (PVH boot protocol, version 1): the
//! memory map, the command line and the boot modules.
//!
//! Everything is read through the direct map, which the boot tables
//! already provide for the first 4 GiB.

use crate::mm::address::MachineAddr;
use crate::mm::direct_map::machine_ptr;

const START_INFO_MAGIC: u32 = 0x336e_c578;
/// E820 type of usable RAM.
pub const E820_RAM: u32 = 1;
const MAX_MEMMAP: usize = 128;

#[repr(C)]
#[derive(Clone, Copy)]
struct StartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
    memmap_paddr: u64,
    memmap_entries: u32,
    reserved: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct ModuleEntry {
    paddr: u64,
    size: u64,
    cmdline_paddr: u64,
    reserved: u64,
}

/// One memory-map entry.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryRange {
    /// First byte.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// E820 type.
    pub kind: u32,
    reserved: u32,
}

/// What the boot protocol told us.
#[derive(Clone, Copy)]
pub struct BootInformation {
    /// Physical address of the start-info structure.
    pub start_info: u64,
    /// The memory map.
    pub memory_map: &'static [MemoryRange],
    /// The command line (empty when absent or not UTF-8).
    pub cmdline: &'static str,
    /// Machine range of the command line, to be kept.
    pub cmdline_range: (u64, u64),
    /// The first boot module (the guest bundle), as machine address and size.
    pub module: Option<(u64, u64)>,
    /// Machine range of the module list, to be kept.
    pub modlist_range: (u64, u64),
}

fn read<T: Copy>(addr: u64) -> T {
    // SAFETY: the boot tables map the first 4 GiB at the direct map, and
    // QEMU places the start info, its lists and strings there; the read is
    // unaligned-safe.
    unsafe { machine_ptr(MachineAddr(addr)).cast::<T>().read_unaligned() }
}

fn c_string(addr: u64) -> &'static str {
    if addr == 0 {
        return "";
    }
    let start = machine_ptr(MachineAddr(addr));
    let mut len = 0;
    // SAFETY: as for `read`; the string is NUL-terminated within 4 KiB or
    // cut there.
    while len < 4096 && unsafe { start.add(len).read() } != 0 {
        len += 1;
    }
    // SAFETY: the `len` bytes before the NUL were just read.
    let bytes = unsafe { core::slice::from_raw_parts(start, len) };
    core::str::from_utf8(bytes).unwrap_or("")
}

/// Parses the start info at machine address `addr`.
pub fn parse(addr: u64) -> Result<BootInformation, &'static str> {
    let info: StartInfo = read(addr);
    if info.magic != START_INFO_MAGIC {
        return Err("hvm_start_info has a bad magic number (not booted by PVH?)");
    }
    if info.version < 1 || info.memmap_paddr == 0 {
        return Err("hvm_start_info carries no memory map (version 0)");
    }
    let entries = (info.memmap_entries as usize).min(MAX_MEMMAP);
    // SAFETY: the map lies in low memory covered by the direct map and is
    // never written after boot; MemoryRange matches the protocol's layout.
    let memory_map = unsafe {
        core::slice::from_raw_parts(machine_ptr(MachineAddr(info.memmap_paddr)).cast(), entries)
    };
    let cmdline = c_string(info.cmdline_paddr);
    let module = (info.nr_modules > 0 && info.modlist_paddr != 0).then(|| {
        let module: ModuleEntry = read(info.modlist_paddr);
        (module.paddr, module.size)
    });
    Ok(BootInformation {
        start_info: addr,
        memory_map,
        cmdline,
        cmdline_range: (
            info.cmdline_paddr,
            info.cmdline_paddr + cmdline.len() as u64 + 1,
        ),
        module,
        modlist_range: (
            info.modlist_paddr,
            info.modlist_paddr
                + info.nr_modules as u64 * core::mem::size_of::<ModuleEntry>() as u64,
        ),
    })
}
