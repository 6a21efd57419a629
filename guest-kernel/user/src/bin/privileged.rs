//! Hostile: runs one privileged instruction (`privileged cli|hlt|cr3|out|in`).
//! The kernel must kill it (a general-protection fault).
#![no_std]
#![no_main]

use user::{Args, println};

user::entry!(main);

fn main(args: Args) -> u64 {
    let which = args.get(1).unwrap_or("cli");
    println!("privileged: {which}");
    // SAFETY: deliberately not: each instruction faults in user mode.
    unsafe {
        match which {
            "cli" => core::arch::asm!("cli"),
            "hlt" => core::arch::asm!("hlt"),
            "cr3" => core::arch::asm!("mov cr3, {}", in(reg) 0u64),
            "out" => core::arch::asm!("out dx, al", in("dx") 0x3f8u16, in("al") b'!'),
            "in" => core::arch::asm!("in al, dx", in("dx") 0x3f8u16, out("al") _),
            "int3" => core::arch::asm!("int3"),
            "ud2" => core::arch::asm!("ud2"),
            _ => {
                println!("privileged: unknown instruction {which}");
                return 2;
            }
        }
    }
    println!("privileged: {which} ran in user mode");
    1
}
