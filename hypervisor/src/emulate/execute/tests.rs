//! The emulator against a fake domain: each instruction's effect on the
//! registers, the virtual CPU and the domain, and the exceptions its
//! operands raise.

extern crate std;

use std::vec::Vec;

use shared_abi::emulation::{RFLAGS_IF, VIRTUAL_CR0, VIRTUAL_EFER, VIRTUAL_KERNEL_CS, msr};

use super::*;
use crate::emulate::operation::decode;
use crate::emulate::virtual_cpu::VirtualCpu;
use crate::mm::address::{GuestPhysAddr, GuestVirtAddr};

/// Guest memory: one window of bytes at `BASE`, the rest unmapped; the
/// window's last page is read-only.
const BASE: u64 = 0x10_0000;
const SIZE: usize = 0x3000;
const READ_ONLY: u64 = BASE + 0x2000;
const RIP: u64 = 0x40_0000;

struct Fake {
    memory: Vec<u8>,
    cpu: VirtualCpu,
    interrupts: bool,
    shared_page: bool,
    root: u64,
    invalidated: Vec<u64>,
    console: Vec<u8>,
}

impl Fake {
    fn new() -> Self {
        Self {
            memory: std::vec![0; SIZE],
            cpu: VirtualCpu::default(),
            interrupts: false,
            shared_page: true,
            root: 0x1000,
            invalidated: Vec::new(),
            console: Vec::new(),
        }
    }

    fn range(&self, address: u64, len: usize, write: bool) -> Result<usize, MemoryFault> {
        for offset in 0..len as u64 {
            let at = address.wrapping_add(offset);
            if !(BASE..BASE + SIZE as u64).contains(&at) {
                return Err(MemoryFault {
                    address: at,
                    error_code: 0b100 | if write { 0b10 } else { 0 },
                });
            }
            if write && at >= READ_ONLY {
                return Err(MemoryFault {
                    address: at,
                    error_code: 0b111,
                });
            }
        }
        Ok((address - BASE) as usize)
    }
}

impl Machine for Fake {
    fn read(&mut self, address: GuestVirtAddr, out: &mut [u8]) -> Result<(), MemoryFault> {
        let start = self.range(address.as_u64(), out.len(), false)?;
        out.copy_from_slice(&self.memory[start..start + out.len()]);
        Ok(())
    }
    fn write(&mut self, address: GuestVirtAddr, data: &[u8]) -> Result<(), MemoryFault> {
        let start = self.range(address.as_u64(), data.len(), true)?;
        self.memory[start..start + data.len()].copy_from_slice(data);
        Ok(())
    }
    fn cpu(&mut self) -> &mut VirtualCpu {
        &mut self.cpu
    }
    fn load_idt(&mut self, table: TableRegister) {
        self.cpu.load_idt(table)
    }
    fn set_interrupt_flag(&mut self, enabled: bool) {
        self.interrupts = enabled;
    }
    fn can_halt(&self) -> bool {
        self.shared_page
    }
    fn root(&self) -> GuestPhysAddr {
        GuestPhysAddr(self.root)
    }
    fn switch_root(&mut self, root: GuestPhysAddr) -> bool {
        let ok = root.as_u64() < 0x100_0000;
        if ok {
            self.root = root.as_u64();
        }
        ok
    }
    fn invalidate_page(&mut self, address: GuestVirtAddr) {
        self.invalidated.push(address.as_u64());
    }
    fn console_byte(&mut self, byte: u8) {
        self.console.push(byte);
    }
    fn tsc(&self) -> u64 {
        0x1234_5678_9abc
    }
}

fn run(bytes: &[u8], regs: &mut Registers, fake: &mut Fake) -> Effect {
    regs.rip = RIP;
    let operation = decode(bytes, RIP).expect("an operation");
    execute(&operation, regs, fake)
}

fn page_fault(address: u64, error_code: u64) -> Effect {
    Effect::Raise(Exception {
        vector: PAGE_FAULT,
        error_code,
        address,
    })
}

const GP: Effect = Effect::Raise(Exception {
    vector: GENERAL_PROTECTION,
    error_code: 0,
    address: 0,
});

#[test]
fn interrupt_flag_and_halt() {
    let (mut regs, mut fake) = (Registers::default(), Fake::new());
    assert_eq!(run(&[0xfb], &mut regs, &mut fake), Effect::Continue);
    assert!(fake.interrupts);
    assert_eq!(regs.rip, RIP + 1);
    assert_eq!(run(&[0xfa], &mut regs, &mut fake), Effect::Continue);
    assert!(!fake.interrupts);
    assert_eq!(run(&[0xfb, 0xf4], &mut regs, &mut fake), Effect::Halt);
    assert!(fake.interrupts);
    assert_eq!(regs.rip, RIP + 2, "sti and hlt taken together");
    assert_eq!(run(&[0xf4], &mut regs, &mut fake), Effect::Halt);
    fake.shared_page = false;
    assert_eq!(run(&[0xf4], &mut regs, &mut fake), Effect::NotEmulated);
    assert_eq!(regs.rip, RIP, "a refused instruction changes nothing");
}

#[test]
fn control_registers() {
    let (mut regs, mut fake) = (Registers::default(), Fake::new());
    regs.r8 = 0x8000_0000_0004_5fff; // no-flush bit and PCID bits ignored
    assert_eq!(
        run(&[0x41, 0x0f, 0x22, 0xd8], &mut regs, &mut fake),
        Effect::Continue
    );
    assert_eq!(fake.root, 0x4_5000);
    assert_eq!(
        run(&[0x0f, 0x20, 0xdb], &mut regs, &mut fake),
        Effect::Continue
    );
    assert_eq!(regs.rbx, 0x4_5000, "mov rbx, cr3");
    regs.rax = 0x0010_0000_0000_0000; // reserved bit 52
    assert_eq!(
        run(&[0x0f, 0x22, 0xd8], &mut regs, &mut fake),
        Effect::NotEmulated
    );
    regs.rax = 0x200_0000; // beyond the fake domain's memory
    assert_eq!(
        run(&[0x0f, 0x22, 0xd8], &mut regs, &mut fake),
        Effect::NotEmulated
    );
    assert_eq!(fake.root, 0x4_5000);
    fake.cpu.set_cr2(0xdead_b000);
    run(&[0x0f, 0x20, 0xd1], &mut regs, &mut fake); // mov rcx, cr2
    assert_eq!(regs.rcx, 0xdead_b000);
    run(&[0x0f, 0x20, 0xc2], &mut regs, &mut fake); // mov rdx, cr0
    assert_eq!(regs.rdx, VIRTUAL_CR0);
}

#[test]
fn invlpg_takes_any_address() {
    let (mut regs, mut fake) = (Registers::default(), Fake::new());
    regs.rax = 0x5000;
    regs.rbx = 3;
    // invlpg [rax+rbx*8+0x10], then a non-canonical and a kernel address.
    assert_eq!(
        run(&[0x0f, 0x01, 0x7c, 0xd8, 0x10], &mut regs, &mut fake),
        Effect::Continue
    );
    regs.rax = 0x8000_0000_0000_0000;
    assert_eq!(
        run(&[0x0f, 0x01, 0x38], &mut regs, &mut fake),
        Effect::Continue
    );
    regs.rax = 0x1_0000_5000; // with 0x67, only eax counts
    assert_eq!(
        run(&[0x67, 0x0f, 0x01, 0x38], &mut regs, &mut fake),
        Effect::Continue
    );
    assert_eq!(fake.invalidated, [0x5028, 0x8000_0000_0000_0000, 0x5000]);
}

#[test]
fn descriptor_tables_load_and_store() {
    let (mut regs, mut fake) = (Registers::default(), Fake::new());
    let table = TableRegister {
        limit: 0x21f,
        base: 0x7000_1000,
    };
    fake.write(GuestVirtAddr(BASE), &table.to_bytes()).unwrap();
    regs.rax = BASE;
    assert_eq!(
        run(&[0x0f, 0x01, 0x18], &mut regs, &mut fake),
        Effect::Continue
    );
    assert_eq!(fake.cpu.idt(), Some(table));
    regs.rax = BASE + 0x100;
    assert_eq!(
        run(&[0x0f, 0x01, 0x08], &mut regs, &mut fake),
        Effect::Continue
    );
    let mut stored = [0u8; 10];
    fake.read(GuestVirtAddr(BASE + 0x100), &mut stored).unwrap();
    assert_eq!(stored, table.to_bytes(), "sidt gives the virtual table");
    // sidt into read-only memory, lidt from unmapped memory, a
    // non-canonical operand, a non-canonical base.
    regs.rax = READ_ONLY;
    assert_eq!(
        run(&[0x0f, 0x01, 0x08], &mut regs, &mut fake),
        page_fault(READ_ONLY, 0b111)
    );
    regs.rax = BASE + SIZE as u64 - 4;
    assert_eq!(
        run(&[0x0f, 0x01, 0x18], &mut regs, &mut fake),
        page_fault(BASE + SIZE as u64, 0b100),
        "the fault names the first unreachable byte"
    );
    regs.rax = 0x0000_8000_0000_0000;
    assert_eq!(run(&[0x0f, 0x01, 0x18], &mut regs, &mut fake), GP);
    let bad = TableRegister {
        limit: 0,
        base: 0x0000_8000_0000_0000,
    };
    fake.write(GuestVirtAddr(BASE), &bad.to_bytes()).unwrap();
    regs.rax = BASE;
    assert_eq!(run(&[0x0f, 0x01, 0x10], &mut regs, &mut fake), GP);
    assert_eq!(fake.cpu.gdtr(), TableRegister::default());
    assert_eq!(regs.rip, RIP);
}

#[test]
fn machine_status_and_selectors() {
    let (mut regs, mut fake) = (Registers::default(), Fake::new());
    regs.rax = u64::MAX;
    run(&[0x66, 0x0f, 0x01, 0xe0], &mut regs, &mut fake); // smsw ax
    assert_eq!(regs.rax, 0xffff_ffff_ffff_0000 | (VIRTUAL_CR0 & 0xffff));
    run(&[0x48, 0x0f, 0x01, 0xe0], &mut regs, &mut fake); // smsw rax
    assert_eq!(regs.rax, VIRTUAL_CR0 & 0xffff);
    regs.rbx = BASE + 8;
    fake.write(GuestVirtAddr(BASE + 8), &[0xff; 4]).unwrap();
    run(&[0x0f, 0x01, 0x23], &mut regs, &mut fake); // smsw [rbx]
    let mut stored = [0u8; 4];
    fake.read(GuestVirtAddr(BASE + 8), &mut stored).unwrap();
    assert_eq!(stored, [0x33, 0x00, 0xff, 0xff], "a 16-bit store");
    regs.rax = 7;
    run(&[0x0f, 0x00, 0xc8], &mut regs, &mut fake); // str eax
    assert_eq!(regs.rax, 0);
}

#[test]
fn console_port() {
    let (mut regs, mut fake) = (Registers::default(), Fake::new());
    regs.rdx = COM1 as u64;
    regs.rax = b'h' as u64;
    assert_eq!(run(&[0xee], &mut regs, &mut fake), Effect::Continue);
    regs.rax = 0x6f6c_6c65; // "ello" as a dword to four ports: only the
    // first reaches the transmit register.
    assert_eq!(run(&[0xef], &mut regs, &mut fake), Effect::Continue);
    regs.rdx = COM1 as u64 + 5;
    regs.rax = 0xffff_ffff_ffff_ffff;
    assert_eq!(run(&[0xec], &mut regs, &mut fake), Effect::Continue);
    assert_eq!(regs.rax & 0xff, 0x60, "line status: ready");
    assert_eq!(regs.rax >> 8, 0x00ff_ffff_ffff_ffff, "in al keeps the rest");
    regs.rdx = COM1 as u64 + 6;
    assert_eq!(
        run(&[0xef], &mut regs, &mut fake),
        Effect::NotEmulated,
        "runs past the UART"
    );
    regs.rdx = 0x80;
    assert_eq!(run(&[0xec], &mut regs, &mut fake), Effect::NotEmulated);
    assert_eq!(
        run(&[0xe6, 0xf8], &mut regs, &mut fake),
        Effect::NotEmulated,
        "out 0xf8, al"
    );
    assert_eq!(fake.console, b"he");
}

#[test]
fn model_specific_registers() {
    let (mut regs, mut fake) = (Registers::default(), Fake::new());
    regs.rcx = msr::EFER as u64;
    run(&[0x0f, 0x32], &mut regs, &mut fake);
    assert_eq!((regs.rax, regs.rdx), (VIRTUAL_EFER, 0));
    assert_eq!(
        run(&[0x0f, 0x30], &mut regs, &mut fake),
        Effect::Continue,
        "same value"
    );
    regs.rax ^= 1 << 11; // NXE off
    assert_eq!(
        run(&[0x0f, 0x30], &mut regs, &mut fake),
        Effect::NotEmulated
    );
    regs.rcx = msr::TSC as u64;
    run(&[0x0f, 0x32], &mut regs, &mut fake);
    assert_eq!((regs.rax, regs.rdx), (0x5678_9abc, 0x1234));
    assert_eq!(
        run(&[0x0f, 0x30], &mut regs, &mut fake),
        Effect::NotEmulated
    );
    regs.rcx = 0xffff_ffff_0000_0000 | msr::TSC_AUX as u64; // ecx only
    regs.rax = 0xffff_ffff_0000_0042; // eax only
    regs.rdx = 0;
    assert_eq!(run(&[0x0f, 0x30], &mut regs, &mut fake), Effect::Continue);
    assert_eq!(fake.cpu.tsc_aux(), 0x42);
    regs.rcx = 0xc000_0082; // LSTAR: not offered
    assert_eq!(
        run(&[0x0f, 0x32], &mut regs, &mut fake),
        Effect::NotEmulated
    );
}

#[test]
fn iretq_returns_to_the_virtual_kernel_only() {
    let (mut regs, mut fake) = (Registers::default(), Fake::new());
    let frame = InterruptFrame::kernel(0x40_2000, 0x246 | RFLAGS_IF, BASE + 0x800);
    let (_, bytes, len) = frame.push(None).unwrap();
    fake.write(GuestVirtAddr(BASE + 0x100), &bytes[..len])
        .unwrap();
    regs.rsp = BASE + 0x100;
    assert_eq!(run(&[0x48, 0xcf], &mut regs, &mut fake), Effect::Continue);
    assert_eq!((regs.rip, regs.rsp), (0x40_2000, BASE + 0x800));
    assert!(fake.interrupts, "IF comes from the frame");

    let mut to_user = frame;
    to_user.cs = 0x2b;
    let (_, bytes, len) = to_user.push(None).unwrap();
    fake.write(GuestVirtAddr(BASE + 0x100), &bytes[..len])
        .unwrap();
    regs.rsp = BASE + 0x100;
    assert_eq!(
        run(&[0x48, 0xcf], &mut regs, &mut fake),
        Effect::NotEmulated
    );
    let mut wild = frame;
    wild.rip = 0xffff_8000_0000_0000;
    let (_, bytes, len) = wild.push(None).unwrap();
    fake.write(GuestVirtAddr(BASE + 0x100), &bytes[..len])
        .unwrap();
    assert_eq!(run(&[0x48, 0xcf], &mut regs, &mut fake), GP);
    regs.rsp = BASE + SIZE as u64 - 8;
    assert_eq!(
        run(&[0x48, 0xcf], &mut regs, &mut fake),
        page_fault(BASE + SIZE as u64, 0b100)
    );
    regs.rsp = 0x1234_0000_0000_0000;
    assert_eq!(
        run(&[0x48, 0xcf], &mut regs, &mut fake),
        Effect::Raise(Exception {
            vector: STACK_FAULT,
            error_code: 0,
            address: 0
        })
    );
    assert_eq!(frame.cs, VIRTUAL_KERNEL_CS as u64);
}
