//! What is measured: the three metric types. How they are written lives in [`crate::encoding`].

mod counter;
mod gauge;
pub(crate) mod histogram;

pub use counter::Counter;
pub use gauge::Gauge;
pub use histogram::Histogram;

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// Number of per-thread stripes a contended counter or histogram spreads its updates over.
pub(crate) const STRIPES: usize = 8;

static NEXT_TOKEN: AtomicU32 = AtomicU32::new(1);

thread_local! {
    static TOKEN: Cell<u32> = const { Cell::new(0) };
}

/// A small non-zero number unique to the calling thread (wraps after 4 billion threads, which
/// only costs sharing a stripe): picks the thread's stripe and tells a metric's first writer
/// from the others.
#[inline]
pub(crate) fn thread_token() -> u32 {
    TOKEN.with(|t| {
        let v = t.get();
        if v != 0 {
            return v;
        }
        let mut fresh = NEXT_TOKEN.fetch_add(1, Relaxed);
        if fresh == 0 {
            fresh = NEXT_TOKEN.fetch_add(1, Relaxed);
        }
        t.set(fresh);
        fresh
    })
}
