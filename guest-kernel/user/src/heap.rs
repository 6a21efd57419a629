//! The program's heap: a bump allocator that grows the break (`brk`) as it
//! needs memory and never gives it back.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicU64, Ordering};

use crate::sys;

/// Bytes the break grows by at least, each time it must.
const GROWTH: u64 = 64 * 1024;

struct Bump {
    next: AtomicU64,
    end: AtomicU64,
}

#[global_allocator]
static HEAP: Bump = Bump {
    next: AtomicU64::new(0),
    end: AtomicU64::new(0),
};

// SAFETY: a process has one thread; the allocator hands out each byte of
// the break's range at most once.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.end.load(Ordering::Relaxed) == 0 {
            let Ok(start) = sys::brk(0) else {
                return core::ptr::null_mut();
            };
            self.next.store(start, Ordering::Relaxed);
            self.end.store(start, Ordering::Relaxed);
        }
        let align = layout.align() as u64;
        let start = self.next.load(Ordering::Relaxed).next_multiple_of(align);
        let Some(end) = start.checked_add(layout.size() as u64) else {
            return core::ptr::null_mut();
        };
        if end > self.end.load(Ordering::Relaxed) {
            let wanted = end.max(self.end.load(Ordering::Relaxed) + GROWTH);
            match sys::brk(wanted) {
                Ok(new_end) => self.end.store(new_end, Ordering::Relaxed),
                Err(_) => return core::ptr::null_mut(),
            }
        }
        self.next.store(end, Ordering::Relaxed);
        start as *mut u8
    }

    unsafe fn dealloc(&self, _pointer: *mut u8, _layout: Layout) {}
}
