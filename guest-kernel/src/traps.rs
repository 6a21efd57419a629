//! The guest kernel's exception handling on top of `shared_abi::guest::trap`:
//! a page-fault handler that serves demand-paged regions and hands anything
//! else to a hook, and a report for faults nobody handles.

use shared_abi::trap::{ExceptionFrame, PAGE_FAULT};
use spin::Mutex;

use crate::memory::demand;
use crate::{hv, println};

/// A hook for page faults that demand paging does not resolve. It returns
/// `true` when it fixed the cause (the access is retried).
pub type PageFaultHook = fn(&mut ExceptionFrame) -> bool;

static HOOK: Mutex<Option<PageFaultHook>> = Mutex::new(None);

/// Installs the page-fault handler (demand paging, then `hook`).
pub fn install_page_fault_handler(hook: Option<PageFaultHook>) {
    *HOOK.lock() = hook;
    if let Err(status) = hv::trap::set_handler(PAGE_FAULT, page_fault) {
        println!("cannot install the page-fault handler: {}", status.name());
        hv::shutdown(1);
    }
}

fn page_fault(frame: &mut ExceptionFrame) {
    if demand::handle(frame) {
        return;
    }
    let hook = *HOOK.lock();
    if hook.is_some_and(|hook| hook(frame)) {
        return;
    }
    println!(
        "unhandled page fault at {:#x} (error {:#x}) at rip {:#x}",
        frame.fault_address, frame.error_code, frame.rip
    );
    hv::shutdown(1);
}
