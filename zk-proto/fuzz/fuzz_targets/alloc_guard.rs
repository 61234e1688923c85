//! A global allocator that remembers the largest single allocation, so a
//! target can check that decoding never allocates what a bogus length claims.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Guard;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Guard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

/// Runs `f` and panics if any single allocation inside it exceeded `limit` bytes.
pub fn check_allocations(limit: usize, f: impl FnOnce()) {
    LARGEST.store(0, Ordering::Relaxed);
    f();
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest <= limit, "decoding allocated {largest} bytes at once; limit {limit}");
}
