//! A counting global allocator: the source of `zigquant_memory_bytes{type="heap"}`.
//!
//! Install it in the binary:
//! ```
//! #[global_allocator]
//! static ALLOC: zigquant_metrics::alloc::CountingAllocator = zigquant_metrics::alloc::CountingAllocator;
//!
//! fn main() {
//!     let data = vec![0u8; 1 << 20];
//!     assert!(zigquant_metrics::alloc::live_heap_bytes().unwrap_or(0) >= data.len() as u64);
//! }
//! ```
//! It forwards to [`std::alloc::System`] and keeps one relaxed atomic of live bytes.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

static LIVE: AtomicU64 = AtomicU64::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The system allocator plus a count of bytes currently allocated (requested sizes, not the
/// allocator's rounding), so the heap metric needs no allocator-specific statistics.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAllocator;

#[inline]
fn mark_installed() {
    if !INSTALLED.load(Relaxed) {
        INSTALLED.store(true, Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees (and the caller's obligations of the `GlobalAlloc` contract) carry over exactly.
// The extra work is bookkeeping on static atomics: it never allocates (so it cannot recurse into
// the allocator), never panics, and never touches the memory handed out. Sizes are added only
// when the allocation succeeded (non-null) and subtracted with the same `Layout` on dealloc, so
// the count stays the sum of live requested sizes.
unsafe impl GlobalAlloc for CountingAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; see the impl comment.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            mark_installed();
            LIVE.fetch_add(layout.size() as u64, Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; see the impl comment.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            mark_installed();
            LIVE.fetch_add(layout.size() as u64, Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` was allocated by us (thus `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as u64, Relaxed);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; see the impl comment.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // On success the old block (layout.size()) is gone and new_size bytes are live.
            LIVE.fetch_add(new_size as u64, Relaxed);
            LIVE.fetch_sub(layout.size() as u64, Relaxed);
        }
        p
    }
}

/// Bytes currently allocated through [`CountingAllocator`], or `None` when the running binary
/// did not install it as its `#[global_allocator]` (then the count would be meaningless).
pub fn live_heap_bytes() -> Option<u64> {
    if INSTALLED.load(Relaxed) {
        Some(LIVE.load(Relaxed))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn not_installed_means_none() {
        // The library's unit-test binary uses the default allocator.
        assert_eq!(super::live_heap_bytes(), None);
    }
}
