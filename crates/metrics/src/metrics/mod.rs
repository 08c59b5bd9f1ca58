//! What is measured: the three metric types. How they are written lives in [`crate::encoding`].

mod counter;
pub(crate) mod exemplar;
mod gauge;
pub(crate) mod histogram;
pub(crate) mod native;

pub use counter::Counter;
pub use exemplar::{ExemplarData, EXEMPLAR_MAX_CHARS};
pub use gauge::Gauge;
pub use histogram::{ExemplarSlot, Histogram};
pub use native::{NativeConfig, NativeSnapshot};

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// Whether thread `me` is (or now becomes) the one writer of a metric whose first writer is
/// recorded in `owner` (0 = nobody yet). A counter or histogram stays compact while this holds
/// and grows per-thread stripes the first time it does not.
#[inline]
pub(crate) fn is_sole_writer(owner: &AtomicU32, me: u32) -> bool {
    let current = owner.load(Relaxed);
    current == me || (current == 0 && owner.compare_exchange(0, me, Relaxed, Relaxed).is_ok())
}

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
