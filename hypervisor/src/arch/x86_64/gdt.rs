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
static TSS: Once<TaskStateSegment> = Once::new();
static GDT: Once<GlobalDescriptorTable> = Once::new();

/// Builds and loads the GDT and TSS; `kernel_stack_top` becomes `rsp0`.
pub fn init(kernel_stack_top: u64) {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
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
        tss
    });
    let gdt = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        gdt.append(Descriptor::kernel_code_segment());
        gdt.append(Descriptor::kernel_data_segment());
        gdt.append(Descriptor::user_data_segment());
        gdt.append(Descriptor::user_code_segment());
        gdt.append(Descriptor::tss_segment(tss));
        gdt
    });
    gdt.load();
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
