//! Hostile scenario guest: executes the privileged instruction named by its
//! argument (`cli`, `sti`, `hlt`, `mov-cr3`, `mov-cr0`, `in`, `out`, `rdmsr`,
//! `wrmsr`, `lgdt`, `lidt`, `invlpg`, `int`, `xsetbv`, and the stores UMIP
//! makes fault: `sgdt`, `sidt`, `sldt`, `smsw`, `str`). The hypervisor must
//! stop it; if the instruction ever completes, the guest says `NOT
//! CONTAINED`. `ac-then-hlt` sets RFLAGS.AC with `popf`, spins long enough
//! to be preempted by the hypervisor's timer several times, then executes
//! `hlt`: the hypervisor must never run with the flag set (it stops itself
//! if its entry code left it set).
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use core::arch::asm;
use guest_kernel::{hv, println, scenario};

entry_point!(main);

fn main(_boot_info: &'static mut BootInfo) -> ! {
    let info = scenario::start_info();
    let class = info.args();
    println!("executing {class}");
    // Let the other domains run first, so containment is seen to happen
    // while they are alive.
    hv::yield_now();
    let table = [0u64; 2];
    // SAFETY: none of these is safe in ring 3: each must trap to the
    // hypervisor, which stops this domain. That is what is being tested.
    unsafe {
        match class {
            "cli" => asm!("cli"),
            "sti" => asm!("sti"),
            "hlt" => asm!("hlt"),
            "mov-cr3" => asm!("mov cr3, {}", in(reg) 0x1000u64),
            "mov-cr0" => asm!("mov cr0, {}", in(reg) 0x8000_0011u64),
            "in" => asm!("in al, dx", in("dx") 0x60u16, out("al") _),
            "out" => asm!("out dx, al", in("dx") 0x80u16, in("al") 0u8),
            "rdmsr" => asm!("rdmsr", in("ecx") 0xc000_0080u32, out("eax") _, out("edx") _),
            "wrmsr" => asm!("wrmsr", in("ecx") 0xc000_0082u32, in("eax") 0, in("edx") 0),
            "lgdt" => asm!("lgdt [{}]", in(reg) table.as_ptr()),
            "lidt" => asm!("lidt [{}]", in(reg) table.as_ptr()),
            "invlpg" => asm!("invlpg [{}]", in(reg) table.as_ptr()),
            "int" => asm!("int 0x80"),
            "xsetbv" => asm!("xsetbv", in("ecx") 0, in("eax") 1, in("edx") 0),
            "sgdt" => asm!("sgdt [{}]", in(reg) table.as_ptr()),
            "sidt" => asm!("sidt [{}]", in(reg) table.as_ptr()),
            "sldt" => asm!("sldt {:x}", out(reg) _),
            "smsw" => asm!("smsw {:r}", out(reg) _),
            "str" => asm!("str {:x}", out(reg) _),
            "ac-then-hlt" => asm!(
                "pushfq",
                "or qword ptr [rsp], {ac}",
                "popfq",
                "rdtsc",
                "shl rdx, 32",
                "or rax, rdx",
                "mov rcx, rax",
                "2:",
                "rdtsc",
                "shl rdx, 32",
                "or rax, rdx",
                "sub rax, rcx",
                "cmp rax, {spin}",
                "jb 2b",
                "hlt",
                ac = const 1u64 << 18,
                spin = const 200_000_000u64,
                out("rax") _, out("rcx") _, out("rdx") _,
            ),
            other => scenario::fail(format_args!("unknown instruction class '{other}'")),
        }
    }
    println!("NOT CONTAINED: {class} completed in ring 3");
    hv::shutdown(1)
}
