//! PVH entry: the ELF note QEMU looks for, and the 32-to-64-bit trampoline.
//!
//! QEMU (`-kernel hv.elf`) finds the `XEN_ELFNOTE_PHYS32_ENTRY` note, loads the
//! image at its physical addresses and jumps to `pvh_start` in 32-bit protected
//! mode, paging off, with `ebx` holding the physical address of
//! `hvm_start_info`. The trampoline builds temporary page tables that map the
//! first 4 GiB three times (identity, the direct map at
//! [`DIRECT_MAP_BASE`](crate::mm::direct_map::DIRECT_MAP_BASE) and the kernel
//! window at `0xFFFF_FFFF_8000_0000`), enables long mode, zeroes `.bss`,
//! switches to the boot stack and calls `hypervisor_main` (which the core
//! provides, see `crate::boot`) with the start-info address. Rust code later replaces these tables with the
//! hypervisor's own (see `mm::kernel_space`).

use core::arch::global_asm;

/// Size of the boot (and later per-CPU kernel) stack.
pub const BOOT_STACK_SIZE: usize = 64 * 1024;

global_asm!(
    r#"
    .section .note.pvh, "a", @note
    .p2align 2
    .long 4                 /* namesz: "Xen\0" */
    .long 4                 /* descsz: 32-bit entry address */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .p2align 2
    .long pvh_start
    .p2align 2

    .section .boot.text, "ax"
    .code32
    .global pvh_start
pvh_start:
    cli
    cld
    mov %ebx, %esi                  /* keep hvm_start_info across the setup */

    /* Zero the six boot tables (PML4, two PDPTs, and four PDs share the
       space from boot_pml4 to boot_tables_end). */
    mov $boot_pml4, %edi
    mov $boot_tables_end, %ecx
    sub %edi, %ecx
    shr $2, %ecx
    xor %eax, %eax
    rep stosl

    /* PML4: [0] identity, [256] direct map, [511] kernel window. */
    mov $boot_pdpt_low, %eax
    or $0x3, %eax
    mov %eax, boot_pml4
    mov %eax, boot_pml4 + 256 * 8
    mov $boot_pdpt_high, %eax
    or $0x3, %eax
    mov %eax, boot_pml4 + 511 * 8

    /* Low PDPT: four PDs cover 0..4 GiB. High PDPT: the top 2 GiB map 0..2 GiB. */
    mov $boot_pd, %eax
    or $0x3, %eax
    mov %eax, boot_pdpt_low
    mov %eax, boot_pdpt_high + 510 * 8
    add $0x1000, %eax
    mov %eax, boot_pdpt_low + 8
    mov %eax, boot_pdpt_high + 511 * 8
    add $0x1000, %eax
    mov %eax, boot_pdpt_low + 16
    add $0x1000, %eax
    mov %eax, boot_pdpt_low + 24

    /* 2048 large (2 MiB) pages: present, writable, PS. */
    xor %ecx, %ecx
    mov $0x83, %eax
1:
    mov %eax, boot_pd(,%ecx,8)
    add $0x200000, %eax
    inc %ecx
    cmp $2048, %ecx
    jb 1b

    mov %cr4, %eax
    or $(1 << 5), %eax              /* PAE */
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx           /* EFER */
    rdmsr
    or $(1 << 8), %eax              /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80000001, %eax            /* PG | PE */
    mov %eax, %cr0

    lgdt boot_gdt_pointer
    ljmp $0x08, $boot_long_mode

    .code64
boot_long_mode:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs

    /* Zero .bss (linked in the kernel window, reachable now). */
    movabs $__bss_start, %rdi
    movabs $__bss_end, %rcx
    sub %rdi, %rcx
    xor %eax, %eax
    rep stosb

    movabs $boot_stack_top, %rsp
    xor %ebp, %ebp
    mov %esi, %edi                  /* arg 0: hvm_start_info physical address */
    movabs $hypervisor_main, %rax
    call *%rax
2:
    hlt
    jmp 2b

    .section .boot.data, "aw"
    .p2align 3
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF        /* 0x10: data */
boot_gdt_end:
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .boot.bss, "aw", @nobits
    .p2align 12
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4096 * 4
boot_tables_end:

    .section .bss.boot_stack, "aw", @nobits
    .p2align 12
    .global boot_stack_bottom
boot_stack_bottom:
    .skip {stack_size}
    .global boot_stack_top
boot_stack_top:
    .code64
    "#,
    stack_size = const BOOT_STACK_SIZE,
    options(att_syntax)
);

unsafe extern "C" {
    static boot_stack_bottom: u8;
    static boot_stack_top: u8;
}

/// The boot stack's address range (its lowest page is left unmapped later as
/// a guard).
pub fn boot_stack() -> core::ops::Range<u64> {
    (&raw const boot_stack_bottom) as u64..(&raw const boot_stack_top) as u64
}
