//! Isolation: a process writes a secret into its heap and starts a copy
//! of itself that looks at the same address; the copy must find its own
//! fresh memory there, and its writes must not reach the parent.
#![no_std]
#![no_main]

use alloc::format;
use user::{Args, println, sys};

extern crate alloc;

user::entry!(main);

const SECRET: u64 = 0x5ec2_e75e_c2e7;

fn heap_page() -> u64 {
    let start = sys::brk(0).unwrap_or(0);
    let _ = sys::brk(start + 4096);
    start
}

fn main(args: Args) -> u64 {
    let page = heap_page();
    if args.get(1) == Some("child") {
        let address = args.number(2, 0);
        // SAFETY: the child's own heap page, at the same address as the
        // parent's (the same program, so the same layout).
        let seen = unsafe { core::ptr::read_volatile(address as *const u64) };
        // SAFETY: as above.
        unsafe { core::ptr::write_volatile(address as *mut u64, 0xbad) };
        println!(
            "isolation: child {} read {seen:#x} at {address:#x}",
            sys::getpid()
        );
        return u64::from(seen == SECRET);
    }
    // SAFETY: the page was just added to this process's heap.
    unsafe { core::ptr::write_volatile(page as *mut u64, SECRET) };
    let address = format!("{page:#x}");
    let Ok(pid) = sys::spawn("/bin/isolation", &["isolation", "child", &address]) else {
        return 2;
    };
    let status = sys::wait(pid);
    // SAFETY: this process's own heap page.
    let kept = unsafe { core::ptr::read_volatile(page as *const u64) };
    let verdict = match (status, kept == SECRET) {
        (Ok(0), true) => "isolated",
        _ => "NOT isolated",
    };
    println!(
        "isolation: child status {status:?}, parent's secret intact: {}: {verdict}",
        kept == SECRET
    );
    u64::from(verdict != "isolated")
}
