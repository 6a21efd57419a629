//! Hostile scenario guest: raises the exception named by its argument
//! (`divide`, `page-fault`, `invalid-opcode`, `breakpoint`, `stack-overflow`,
//! `kernel-address`) with no handler registered, or one whose handler
//! cannot be entered (`unmapped-handler`, `bad-stack`). The hypervisor must
//! stop it and report the cause.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use core::arch::asm;
use guest_kernel::{hv, println, scenario};
use shared_abi::hypercall::request::SetTrapHandler;
use shared_abi::trap::PAGE_FAULT;

const INVALID_OPCODE: u64 = 6;

entry_point!(main);

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let pad = [depth; 64];
    core::hint::black_box(&pad);
    recurse(depth + 1) + pad[3]
}

fn main(_boot_info: &'static mut BootInfo) -> ! {
    let info = scenario::start_info();
    let kind = info.args();
    println!("raising {kind}");
    hv::yield_now();
    // SAFETY: each arm raises an exception on purpose; the hypervisor stops
    // the domain before anything after it runs.
    unsafe {
        match kind {
            "divide" => {
                asm!("div {0:e}", in(reg) 0u32, inout("eax") 1u32 => _, inout("edx") 0u32 => _)
            }
            "page-fault" => {
                core::ptr::read_volatile(0xdead_0000 as *const u64);
            }
            "kernel-address" => {
                core::ptr::read_volatile(0xffff_8000_0010_0000 as *const u64);
            }
            "invalid-opcode" => asm!("ud2"),
            "breakpoint" => asm!("int3"),
            "stack-overflow" => {
                recurse(0);
            }
            "unmapped-handler" => {
                let nowhere = 0x7777_0000_0000u64;
                for vector in [PAGE_FAULT, INVALID_OPCODE] {
                    let _ = hv::call(SetTrapHandler {
                        vector,
                        handler: nowhere,
                    });
                }
                asm!("ud2");
            }
            "bad-stack" => {
                if hv::trap::set_handler(INVALID_OPCODE, |_| {}).is_err() {
                    scenario::fail(format_args!("set_handler"));
                }
                asm!("mov rsp, {}", "ud2", in(reg) 0x6666_0000_0000u64);
            }
            other => scenario::fail(format_args!("unknown fault kind '{other}'")),
        }
    }
    println!("NOT CONTAINED: {kind} did not stop the domain");
    hv::shutdown(1)
}
