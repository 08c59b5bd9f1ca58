//! A monotonic counter that stays cheap when many threads hit the same series.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

use super::exemplar::{unix_ms_now, valid_exemplar_labels, ExemplarCell, ExemplarData};
use super::{is_sole_writer, thread_token, STRIPES};

/// One stripe, alone on its cache line(s) so two threads never bounce the same line.
#[repr(align(128))]
#[derive(Default)]
struct Stripe(AtomicU64);

/// A monotonic `u64` counter (`_total`). Handles are shared as `Arc<Counter>`.
///
/// Compact until contended: a counter only ever written by one thread is a single atomic
/// (32 bytes in all). The first time a second thread writes it, it grows eight cache-line-padded
/// stripes (1 KiB) and each thread adds to its own stripe from then on, so two threads on one
/// series scale instead of fighting over one cache line. Reading sums the base and the stripes;
/// every part only grows, so a later read is never lower than an earlier one.
///
/// [`Counter::inc_with_exemplar`] keeps the last increment, with labels, as the counter's
/// exemplar (OpenMetrics and protobuf only); the cell is made on first use.
pub struct Counter {
    value: AtomicU64,
    /// Token of the first thread that wrote the counter (0 = nobody yet).
    owner: AtomicU32,
    stripes: OnceLock<Box<[Stripe; STRIPES]>>,
    exemplar: OnceLock<Box<ExemplarCell>>,
    /// Unix time in milliseconds the counter started counting.
    created_ms: i64,
}

impl Default for Counter {
    fn default() -> Self {
        Self::new()
    }
}

impl Counter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self {
            value: AtomicU64::new(0),
            owner: AtomicU32::new(0),
            stripes: OnceLock::new(),
            exemplar: OnceLock::new(),
            created_ms: unix_ms_now(),
        }
    }

    /// Adds one and makes this increment the exemplar, with `labels` (e.g.
    /// `[("trade_id", "17")]`) and the current time. The exemplar is dropped (the increment is
    /// not) when the labels are invalid or longer than [`super::EXEMPLAR_MAX_CHARS`]
    /// characters together, or when another thread writes it at the same instant; the return
    /// value says whether it was kept.
    pub fn inc_with_exemplar(&self, labels: &[(&str, &str)]) -> bool {
        self.inc();
        if !valid_exemplar_labels(labels) {
            return false;
        }
        self.exemplar
            .get_or_init(Box::default)
            .record(labels, 1.0, unix_ms_now());
        true
    }

    /// The last exemplar, if one was recorded.
    pub fn exemplar(&self) -> Option<ExemplarData> {
        self.exemplar.get().and_then(|c| c.get())
    }

    pub(crate) fn exemplar_cell(&self) -> Option<&ExemplarCell> {
        self.exemplar.get().map(|c| &**c)
    }

    /// Unix time in milliseconds the counter started counting (its created timestamp).
    pub fn created_ms(&self) -> i64 {
        self.created_ms
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `v` (counters only go up, hence unsigned).
    #[inline]
    pub fn inc_by(&self, v: u64) {
        if let Some(stripes) = self.stripes.get() {
            stripes[thread_token() as usize % STRIPES]
                .0
                .fetch_add(v, Relaxed);
            return;
        }
        let me = thread_token();
        if is_sole_writer(&self.owner, me) {
            self.value.fetch_add(v, Relaxed);
            return;
        }
        // A second thread writes this counter: contention is real, spread it out.
        let stripes = self
            .stripes
            .get_or_init(|| Box::new(std::array::from_fn(|_| Stripe::default())));
        stripes[me as usize % STRIPES].0.fetch_add(v, Relaxed);
    }

    /// The current total.
    #[inline]
    pub fn get(&self) -> u64 {
        let mut total = self.value.load(Relaxed);
        if let Some(stripes) = self.stripes.get() {
            for s in stripes.iter() {
                total = total.wrapping_add(s.0.load(Relaxed));
            }
        }
        total
    }
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Counter").field(&self.get()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn counts_from_one_thread() {
        let c = Counter::new();
        c.inc();
        c.inc_by(41);
        assert_eq!(c.get(), 42);
        assert!(c.stripes.get().is_none(), "one writer must stay compact");
    }

    #[test]
    fn counts_exactly_from_many_threads() {
        let c = Arc::new(Counter::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let c = Arc::clone(&c);
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        c.inc();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(c.get(), 40_000);
    }
}
