//! The GDT and TSS: ring 0 and ring 3 segments in the order `syscall` and
//! `sysret` require, and the stacks the CPU switches to on entry to ring 0.
//!
//! ```text
//! 0x08 kernel code   0x10 kernel data   0x18 user data   0x20 user code   0x28 TSS
//! ```
//!
//! `rsp0` is the top of the kernel stack (every entry from a guest starts
//! there). Double faults, NMIs and machine checks get their own IST stacks
//! so that they are reported even when the kernel stack is broken.
//!
//! The TSS is followed by an I/O permission bitmap that lets ring 3 reach
//! COM1 (ports 0x3f8-0x3ff) and nothing else. Whether it is in force is
//! switched with [`allow_io_ports`]: a TSS whose I/O-map base lies inside
//! its limit uses the bitmap; one whose base lies beyond the limit refuses
//! every port to ring 3 (a general-protection fault), which is how the
//! hypervisor runs every domain but the one the core allows.

use core::cell::UnsafeCell;

use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

/// Kernel code selector.
pub const KERNEL_CS: u16 = 0x08;
/// Kernel data selector.
pub const KERNEL_SS: u16 = 0x10;
/// User data selector, RPL 3.
pub const USER_SS: u16 = 0x18 | 3;
/// User 64-bit code selector, RPL 3.
pub const USER_CS: u16 = 0x20 | 3;

/// IST slot (1-based in the IDT) of the double-fault stack.
pub const DOUBLE_FAULT_IST: u16 = 1;
/// IST slot of the NMI stack.
pub const NMI_IST: u16 = 2;
/// IST slot of the machine-check stack.
pub const MACHINE_CHECK_IST: u16 = 3;

const IST_STACK_SIZE: usize = 16 * 1024;

#[repr(align(16))]
struct Stack(#[allow(dead_code)] [u8; IST_STACK_SIZE]);

static mut IST_STACKS: [Stack; 3] = [const { Stack([0; IST_STACK_SIZE]) }; 3];
static GDT: Once<GlobalDescriptorTable> = Once::new();

/// First port ring 3 may reach with the bitmap in force (COM1).
pub const IO_PORTS_FIRST: u16 = 0x3f8;
/// Last port ring 3 may reach with the bitmap in force.
pub const IO_PORTS_LAST: u16 = 0x3ff;
/// Bytes of the bitmap: one bit per port up to [`IO_PORTS_LAST`] (ports
/// above it lie beyond the TSS limit, refused), and the 0xff byte the CPU
/// requires after it.
const IO_BITMAP_LEN: usize = IO_PORTS_LAST as usize / 8 + 2;
/// The I/O-map base with the bitmap in force: right after the TSS.
const IO_MAP_IN_FORCE: u16 = core::mem::size_of::<TaskStateSegment>() as u16;
/// An I/O-map base beyond the TSS limit: every port refused.
const IO_MAP_NONE: u16 = 0xdfff;

/// The TSS and the I/O permission bitmap after it (the descriptor's limit
/// covers both).
#[repr(C)]
struct TaskState {
    tss: TaskStateSegment,
    io_bitmap: [u8; IO_BITMAP_LEN],
}

const _: () = assert!(core::mem::offset_of!(TaskState, io_bitmap) == IO_MAP_IN_FORCE as usize);

/// The one TSS, written by [`init`] and then only its I/O-map base by
/// [`allow_io_ports`] (the CPU reads it at every port access from ring 3).
struct TaskStateCell(UnsafeCell<TaskState>);

// SAFETY: one CPU; the TSS is written in `init` before it is loaded, and
// afterwards only its I/O-map base, with interrupts masked (ring 0 runs
// with them masked), by a single aligned store.
unsafe impl Sync for TaskStateCell {}

static TSS: TaskStateCell = TaskStateCell(UnsafeCell::new(TaskState {
    tss: TaskStateSegment::new(),
    io_bitmap: io_bitmap(),
}));

/// Every port refused but [`IO_PORTS_FIRST`]..=[`IO_PORTS_LAST`].
const fn io_bitmap() -> [u8; IO_BITMAP_LEN] {
    let mut bitmap = [0xff; IO_BITMAP_LEN];
    let mut port = IO_PORTS_FIRST as usize;
    while port <= IO_PORTS_LAST as usize {
        bitmap[port / 8] &= !(1 << (port % 8));
        port += 1;
    }
    bitmap
}

/// Puts the I/O permission bitmap in force for ring 3 (`true`: COM1 may be
/// reached) or not (every port refused). Cheap: one 16-bit store.
#[inline(always)]
pub fn allow_io_ports(allowed: bool) {
    let base = if allowed {
        IO_MAP_IN_FORCE
    } else {
        IO_MAP_NONE
    };
    // SAFETY: the field lies in the static TSS (see `TaskStateCell`), at
    // offset 102 of a 4-aligned struct, so aligned for a u16. The store is
    // volatile: the CPU, not the compiler, reads it.
    unsafe {
        (&raw mut (*TSS.0.get()).tss.iomap_base).write_volatile(base);
    }
}

/// Builds and loads the GDT and TSS (once, at boot); `kernel_stack_top`
/// becomes `rsp0`.
pub fn init(kernel_stack_top: u64) {
    let gdt = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        gdt.append(Descriptor::kernel_code_segment());
        gdt.append(Descriptor::kernel_data_segment());
        gdt.append(Descriptor::user_data_segment());
        gdt.append(Descriptor::user_code_segment());
        gdt.append(task_state_descriptor(kernel_stack_top));
        gdt
    });
    gdt.load();
    // Ring 3 starts with every port refused.
    allow_io_ports(false);
    // SAFETY: the selectors name the descriptors appended above, in the
    // order asserted by the constants, in the GDT just loaded.
    unsafe {
        CS::set_reg(SegmentSelector(KERNEL_CS));
        SS::set_reg(SegmentSelector(KERNEL_SS));
        DS::set_reg(SegmentSelector(0));
        ES::set_reg(SegmentSelector(0));
        load_tss(SegmentSelector(0x28));
    }
}

/// Fills the TSS (the GDT's first and only build, before it is loaded) and
/// returns its descriptor, whose limit covers the I/O bitmap.
fn task_state_descriptor(kernel_stack_top: u64) -> Descriptor {
    // SAFETY: called once, from the `Once` building the GDT, before the TSS
    // is loaded: nothing else reaches it.
    let state = unsafe { &mut *TSS.0.get() };
    let tss = &mut state.tss;
    tss.iomap_base = IO_MAP_IN_FORCE;
    tss.privilege_stack_table[0] = VirtAddr::new(kernel_stack_top);
    for (slot, index) in [DOUBLE_FAULT_IST, NMI_IST, MACHINE_CHECK_IST]
        .into_iter()
        .enumerate()
    {
        // SAFETY: only the address of the static is taken; the stacks are
        // used by nothing but the CPU through the IST.
        let stack = unsafe { &raw const IST_STACKS[slot] } as u64;
        tss.interrupt_stack_table[index as usize - 1] =
            VirtAddr::new(stack + IST_STACK_SIZE as u64);
    }
    // SAFETY: as above; the descriptor keeps only the addresses, and the
    // references end here.
    let state: &'static TaskState = unsafe { &*TSS.0.get() };
    Descriptor::tss_segment_with_iomap(&state.tss, &state.io_bitmap)
        .expect("the TSS's I/O bitmap is well formed")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(bitmap: &[u8], port: usize) -> bool {
        bitmap
            .get(port / 8)
            .is_some_and(|byte| byte & (1 << (port % 8)) == 0)
    }

    #[test]
    fn the_bitmap_gives_com1_and_nothing_else() {
        let bitmap = io_bitmap();
        for port in 0x3f8..=0x3ff {
            assert!(allowed(&bitmap, port), "{port:#x}");
        }
        for port in [0, 0x60, 0x80, 0x2f8, 0x3f7, 0x400, 0xcf8, 0xcfc, 0xffff] {
            assert!(!allowed(&bitmap, port), "{port:#x}");
        }
        assert_eq!(bitmap.last(), Some(&0xff), "the terminating byte");
        assert_eq!(bitmap.len(), IO_PORTS_LAST as usize / 8 + 2);
        assert!(IO_MAP_NONE as usize > IO_MAP_IN_FORCE as usize + IO_BITMAP_LEN);
    }
}
