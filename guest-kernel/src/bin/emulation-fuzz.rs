//! Fuzzer for the emulating execution modes: executes `count=N` random
//! privileged instructions (`seed=S`) with random prefixes, ModRM and SIB
//! bytes, displacements, immediates and register values drawn from
//! edge-case classes (0, the current root, a scratch page, unmapped,
//! non-canonical and hypervisor addresses, `u64::MAX`, the console's
//! ports, the MSRs the virtual CPU has, random), one at a time, and
//! counts how each ended. Run it with `mode=emulate` or `mode=patch` next
//! to a bystander; the hypervisor must neither fault nor stop it.
//!
//! Each instruction is written into an executable page followed by an
//! absolute jump back, and run on a stack page of its own whose words are
//! all non-canonical (so an `iretq` never finds a frame it would return
//! through). Exceptions go through the fuzzer's own virtual IDT: 32 trap
//! gates whose handlers record the vector and jump back, abandoning the
//! frame. After every instruction the fuzzer loads its IDT again, so a
//! random `lidt` that succeeded lasts one instruction at most; `hlt` is
//! never generated (nothing would wake it), and `mov cr3` only ever finds
//! the current root or values the virtual CPU refuses. The scratch page
//! is refilled with the non-canonical pattern every iteration.
//!
//! Prints `emulation fuzz: N instructions from seed S, C completed, ...`
//! (how many ended in each exception) and `done`; with `trace=1` it
//! first prints each instruction's bytes, to find the one a failure
//! follows.
#![no_std]
#![no_main]

use core::arch::naked_asm;
use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::{BootInfo, entry_point};
use shared_abi::emulation::{COM1, GATE_BYTES, gate, msr};

use guest_kernel::memory::paging::{self, PageFlags};
use guest_kernel::native::{self, TableRegister};
use guest_kernel::{check, println, scenario};

entry_point!(main, config = &scenario::MEMORY_CONFIG);

/// The executable page each instruction is written to.
const CODE: u64 = 0x5d00_0000_0000;
/// A scratch page operands point into, filled with [`PATTERN`].
const SCRATCH: u64 = CODE + 0x2000;
/// Two pages of stack the instructions run on.
const STACK: u64 = CODE + 0x4000;
const STACK_TOP: u64 = STACK + 0x1800;
/// Never mapped.
const UNMAPPED: u64 = 0x5f00_0000_0000;
/// Every byte of the scratch page and the stack above the instruction's
/// `rsp`: any eight of them make a non-canonical word.
const PATTERN: u8 = 0x80;

/// What the run function loads: the fifteen general registers but `rsp`,
/// in the order `run` pops them.
static REGS: [AtomicU64; 15] = [const { AtomicU64::new(0) }; 15];
static SAVED_RSP: AtomicU64 = AtomicU64::new(0);
/// The vector of the exception that ended the instruction; 32: it
/// completed.
static ENDED_BY: AtomicU64 = AtomicU64::new(0);

struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// A register value from an edge-case class.
fn value(random: &mut Random, root: u64) -> u64 {
    let high = 0x5d00u64 << 32; // makes any small value a root beyond memory
    match random.below(12) {
        0 => 0,
        1 => root,
        2 => SCRATCH + random.below(0x1000),
        3 => SCRATCH + 0x1000 - random.below(16),
        4 => UNMAPPED + random.below(0x1000),
        5 => 0x8000_0000_0000_0000 | random.next() >> 16,
        6 => 0xffff_8000_0000_0000 + random.below(1 << 30),
        7 => 0xffff_ffff_8000_0000 + random.below(1 << 20),
        8 => u64::MAX,
        9 => high | (COM1 as u64 + random.below(10)),
        10 => {
            [
                msr::TSC,
                msr::PAT,
                msr::EFER,
                msr::TSC_AUX,
                0xc000_0082,
                0xffff_ffff,
            ][random.below(6) as usize] as u64
                | high
        }
        _ => random.next() | 1 << 62,
    }
}

/// What a ModRM byte's `mod` field may be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Any: memory (with SIB and displacement as they say) or register.
    Any,
    /// Memory only.
    Memory,
    /// Register only (`mov` to and from control registers ignore `mod`:
    /// always a register, never a SIB byte or displacement).
    Register,
}

/// The opcodes: bytes, whether a ModRM byte follows (and the `reg` field
/// it must have, or any), its form, immediate bytes.
struct Template {
    opcode: &'static [u8],
    modrm: Option<Option<u8>>,
    form: Form,
    immediate: usize,
}

const ANY: Form = Form::Any;
const MEMORY: Form = Form::Memory;
const REGISTER: Form = Form::Register;

const fn t(
    opcode: &'static [u8],
    modrm: Option<Option<u8>>,
    form: Form,
    immediate: usize,
) -> Template {
    Template {
        opcode,
        modrm,
        form,
        immediate,
    }
}

const TEMPLATES: [Template; 24] = [
    t(&[0xfa], None, ANY, 0),                     // cli
    t(&[0xfb], None, ANY, 0),                     // sti
    t(&[0x0f, 0x22], Some(Some(3)), REGISTER, 0), // mov cr3, r
    t(&[0x0f, 0x20], Some(None), REGISTER, 0),    // mov r, crN
    t(&[0x0f, 0x01], Some(Some(7)), MEMORY, 0),   // invlpg
    t(&[0x0f, 0x01], Some(Some(3)), MEMORY, 0),   // lidt
    t(&[0x0f, 0x01], Some(Some(2)), MEMORY, 0),   // lgdt
    t(&[0x0f, 0x01], Some(Some(1)), MEMORY, 0),   // sidt
    t(&[0x0f, 0x01], Some(Some(0)), MEMORY, 0),   // sgdt
    t(&[0x0f, 0x01], Some(Some(4)), ANY, 0),      // smsw r/m
    t(&[0x0f, 0x01], Some(None), ANY, 0),         // group 7, any
    t(&[0x0f, 0x00], Some(Some(1)), ANY, 0),      // str r/m
    t(&[0x0f, 0x00], Some(Some(0)), ANY, 0),      // sldt r/m
    t(&[0xe4], None, ANY, 1),                     // in al, imm8
    t(&[0xe5], None, ANY, 1),                     // in eax, imm8
    t(&[0xe6], None, ANY, 1),                     // out imm8, al
    t(&[0xe7], None, ANY, 1),                     // out imm8, eax
    t(&[0xec], None, ANY, 0),                     // in al, dx
    t(&[0xed], None, ANY, 0),                     // in eax, dx
    t(&[0xee], None, ANY, 0),                     // out dx, al
    t(&[0xef], None, ANY, 0),                     // out dx, eax
    t(&[0x0f, 0x32], None, ANY, 0),               // rdmsr
    t(&[0x0f, 0x30], None, ANY, 0),               // wrmsr
    t(&[0xcf], None, ANY, 0),                     // iret (with REX.W: iretq)
];

const PREFIXES: [u8; 10] = [0x66, 0x67, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65];

/// Writes one random instruction at `code`; returns its length.
fn instruction(random: &mut Random, code: &mut [u8]) -> usize {
    let template = &TEMPLATES[random.below(TEMPLATES.len() as u64) as usize];
    let mut len = 0;
    let mut push = |byte: u8| {
        code[len] = byte;
        len += 1;
    };
    for _ in 0..random.below(3) {
        push(PREFIXES[random.below(PREFIXES.len() as u64) as usize]);
    }
    if random.below(2) == 0 || template.opcode == [0xcf] {
        let w = if template.opcode == [0xcf] && random.below(4) != 0 {
            0x08
        } else {
            0
        };
        push(0x40 | w | (random.byte() & 0x07));
    }
    template.opcode.iter().for_each(|&byte| push(byte));
    if let Some(reg) = template.modrm {
        let reg = reg.unwrap_or(random.byte() & 7);
        let mode = match template.form {
            Form::Memory => random.below(3) as u8,
            Form::Any => random.below(4) as u8,
            Form::Register => 3,
        };
        let rm = random.byte() & 7;
        push(mode << 6 | reg << 3 | rm);
        let mut displacement = match mode {
            1 => 1,
            2 => 4,
            0 if rm == 5 => 4,
            _ => 0,
        };
        if mode != 3 && rm == 4 {
            let sib = random.byte();
            push(sib);
            if mode == 0 && sib & 7 == 5 {
                displacement = 4;
            }
        }
        for _ in 0..displacement {
            push(random.byte());
        }
    }
    for _ in 0..template.immediate {
        push(random.byte());
    }
    len
}

/// Fills `len` bytes (a multiple of 8) at `address` with [`PATTERN`].
fn fill(address: u64, len: u64) {
    for offset in (0..len).step_by(8) {
        // SAFETY: the fuzzer's own pages, mapped writable.
        unsafe {
            ((address + offset) as *mut u64).write_volatile(u64::from_ne_bytes([PATTERN; 8]))
        };
    }
}

/// Loads the registers, switches to the instruction's stack and jumps to
/// it; comes back at `landing` (from the jump after the instruction, or
/// from an exception handler).
#[unsafe(naked)]
extern "C" fn run() {
    naked_asm!(
        "push rbx", "push rbp", "push r12", "push r13", "push r14", "push r15",
        "mov [rip + {saved}], rsp",
        "lea rsp, [rip + {regs}]",
        "pop rax", "pop rbx", "pop rcx", "pop rdx", "pop rsi", "pop rdi", "pop rbp",
        "pop r8", "pop r9", "pop r10", "pop r11", "pop r12", "pop r13", "pop r14", "pop r15",
        "mov rsp, {stack}",
        "jmp qword ptr [rip + {code}]",
        saved = sym SAVED_RSP,
        regs = sym REGS,
        stack = const STACK_TOP,
        code = sym CODE_ADDRESS,
    )
}

static CODE_ADDRESS: u64 = CODE;

/// Where every instruction comes back to.
#[unsafe(naked)]
extern "C" fn landing() {
    naked_asm!(
        "mov rsp, [rip + {saved}]",
        "pop r15", "pop r14", "pop r13", "pop r12", "pop rbp", "pop rbx",
        "cld",
        "ret",
        saved = sym SAVED_RSP,
    )
}

/// The handler for each vector: records it and goes back.
macro_rules! handlers {
    ($($vector:literal),*) => {
        [$({
            #[unsafe(naked)]
            extern "C" fn handler() {
                naked_asm!(
                    "mov qword ptr [rip + {ended}], {vector}",
                    "jmp {landing}",
                    ended = sym ENDED_BY,
                    vector = const $vector,
                    landing = sym landing,
                )
            }
            handler as extern "C" fn()
        }),*]
    };
}

#[repr(C, align(16))]
struct Idt([[u8; GATE_BYTES]; 32]);

static mut IDT: Idt = Idt([[0; GATE_BYTES]; 32]);

fn idt_register() -> TableRegister {
    TableRegister {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: core::ptr::addr_of!(IDT) as u64,
    }
}

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::init_interrupts(boot_info);
    let args = scenario::start_info();
    let args = args.args();
    let seed = scenario::number(args, "seed", 1);
    let count = scenario::number(args, "count", 10_000);
    let tracing = scenario::arg(args, "trace") == Some("1");
    for (page, flags) in [
        (CODE, PageFlags::WRITABLE),
        (SCRATCH, PageFlags::WRITABLE | PageFlags::NO_EXECUTE),
        (STACK, PageFlags::WRITABLE | PageFlags::NO_EXECUTE),
        (STACK + 0x1000, PageFlags::WRITABLE | PageFlags::NO_EXECUTE),
    ] {
        paging::map_page(page, flags).unwrap_or_else(|_| scenario::fail(format_args!("map")));
    }
    let root = native::read_cr3();
    // A zero register is a `mov cr3` to the boot tables: they must be the
    // ones in use.
    check!(
        root == 0,
        "the fuzzer runs on the boot tables, not {root:#x}"
    );
    let handlers: [extern "C" fn(); 32] = handlers!(
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
        25, 26, 27, 28, 29, 30, 31
    );
    // SAFETY: nothing else uses the table.
    let idt = unsafe { &mut *core::ptr::addr_of_mut!(IDT) };
    for (vector, handler) in handlers.iter().enumerate() {
        idt.0[vector] = gate(*handler as usize as u64, false);
    }
    let table = idt_register();
    let mut random = Random(seed.max(1));
    let mut ended = [0u64; 33];
    let mut code = [0u8; 32];
    for _ in 0..count {
        // SAFETY: the fuzzer's IDT: trap gates whose handlers go back to
        // `landing`; nothing from here on uses the heap.
        unsafe { native::lidt(&table) };
        fill(SCRATCH, 0x1000);
        fill(STACK_TOP, 0x800);
        let len = instruction(&mut random, &mut code);
        // jmp [rip + 0], then the landing address.
        code[len..len + 6].copy_from_slice(&[0xff, 0x25, 0, 0, 0, 0]);
        code[len + 6..len + 14].copy_from_slice(&(landing as *const () as u64).to_le_bytes());
        for (offset, &byte) in code[..len + 14].iter().enumerate() {
            // SAFETY: the code page is mapped writable.
            unsafe { ((CODE + offset as u64) as *mut u8).write_volatile(byte) };
        }
        for register in &REGS {
            register.store(value(&mut random, root), Ordering::Relaxed);
        }
        if tracing {
            println!("instruction {:02x?}", &code[..len]);
        }
        ENDED_BY.store(32, Ordering::SeqCst);
        // SAFETY: `run` saves what a call preserves and comes back through
        // `landing` whatever the instruction does (see the file's header).
        unsafe { core::arch::asm!("call {}", sym run, clobber_abi("C")) };
        ended[ENDED_BY.load(Ordering::SeqCst).min(32) as usize] += 1;
    }
    native::sti();
    // End the line the console bytes the instructions wrote are on.
    println!();
    println!(
        "emulation fuzz: {count} instructions from seed {seed}, {} completed, #UD {}, #GP {}, #PF {}, #SS {}, #BP {}, other {}",
        ended[32],
        ended[6],
        ended[13],
        ended[14],
        ended[12],
        ended[3],
        count - ended[32] - ended[6] - ended[13] - ended[14] - ended[12] - ended[3]
    );
    scenario::done()
}
