//! Asking the CPU for the output's next cache lines before a scrape writes them.
//!
//! A scrape writes megabytes into a buffer that other work has pushed out of the caches since
//! the last scrape. Each small store into a line that is not in the cache has to fetch the line
//! first, and once the store buffer is full of such stores the CPU stops: the encoder's own work
//! and the memory traffic then take turns instead of overlapping (measured: a 10k-series scrape
//! took the bench's `store_only_10k` time *plus* its warm compute time). Prefetching the lines
//! 1 KiB ahead of the write position fetches them while the encoder formats the lines before
//! them (docs/benchmarks.md §8: 512 bytes ahead was slower, 2-4 KiB the same).

/// How far ahead of the write position the lines are requested (a few sample lines: far
/// enough to cover memory latency, near enough to still be in the cache when written).
const AHEAD: usize = 1024;

/// Requests the two cache lines `AHEAD` bytes past the end of `out` (a sample line is at
/// most about two lines long, so calling this once per line covers every line). A hint only:
/// it never faults and changes nothing the program can observe.
#[inline(always)]
pub(crate) fn output_ahead(out: &[u8]) {
    let at = out.as_ptr().wrapping_add(out.len() + AHEAD);
    line(at);
    line(at.wrapping_add(64));
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
fn line(p: *const u8) {
    use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    // SAFETY: PREFETCHT0 is a hint that never faults, whatever the address (it may point past
    // the allocation), and SSE, which it needs, is part of every x86-64 CPU; the intrinsic is
    // `unsafe` only because all `core::arch` intrinsics are.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn line(_: *const u8) {}
