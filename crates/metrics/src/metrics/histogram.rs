//! A histogram with fixed bucket bounds that stays cheap when many threads observe one series,
//! optionally also a native histogram ([`super::native`]), with an exemplar per bucket.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::exemplar::{unix_ms_now, valid_exemplar_labels, ExemplarCell, ExemplarData};
use super::native::{NativeBuckets, NativeConfig, NativeSnapshot};
use super::{is_sole_writer, thread_token, STRIPES};
use crate::clock::{clock, Ticks};
use crate::MetricsError;

/// Observations counted into buckets `v <= bound`, plus their sum.
///
/// Each observation increments exactly one (non-cumulative) bucket; the encoder accumulates the
/// counts it read and derives `_count` from them, so a scrape racing with observers always shows
/// cumulative buckets with `+Inf == _count`, whatever it interleaves with.
///
/// Compact until contended, like [`super::Counter`]: the first thread to observe writes the base
/// cells; when a second thread observes, the histogram grows [`STRIPES`] copies of its cells,
/// each on cache lines of its own, and every thread adds to its own copy from then on, so two
/// request threads timing the same route do not bounce one cache line per observation. Reading
/// adds the base and the stripes up.
///
/// A histogram made with [`Histogram::with_native`] also counts every observation into native
/// (exponential) buckets, exposed alongside the classic ones in the protobuf format.
/// [`Histogram::observe_with_exemplar`] keeps the last observation of each bucket, with labels,
/// as that bucket's exemplar (OpenMetrics and protobuf only).
pub struct Histogram {
    bounds: Arc<[f64]>,
    /// `bounds.len() + 1` counts; the last one is the `+Inf` overflow bucket.
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
    /// Token of the first thread that observed (0 = nobody yet).
    owner: AtomicU32,
    /// [`STRIPES`] runs of `stride()` cells: the counts, then the sum's bits, then padding.
    stripes: OnceLock<Box<[AtomicU64]>>,
    native: Option<Box<NativeBuckets>>,
    /// One cell per bucket (`+Inf` last), made on the first exemplar.
    exemplars: OnceLock<Box<[ExemplarCell]>>,
    /// Unix time in milliseconds the histogram started counting.
    created_ms: i64,
}

/// Checks bounds are non-empty, finite and strictly increasing; the shared form of them.
pub(crate) fn validate_bounds(bounds: &[f64]) -> Result<Arc<[f64]>, MetricsError> {
    let err = |reason| MetricsError::InvalidBuckets {
        bounds: bounds.to_vec(),
        reason,
    };
    if bounds.is_empty() {
        return Err(err("at least one bucket bound is required"));
    }
    if bounds.iter().any(|b| !b.is_finite()) {
        return Err(err("bounds must be finite (the +Inf bucket is implicit)"));
    }
    if bounds.windows(2).any(|w| w[0] >= w[1]) {
        return Err(err("bounds must be strictly increasing"));
    }
    Ok(bounds.into())
}

/// Adds `v` to the `f64` stored as bits in `cell`.
#[inline]
fn add_f64(cell: &AtomicU64, v: f64) {
    let mut cur = cell.load(Relaxed);
    loop {
        let next = (f64::from_bits(cur) + v).to_bits();
        match cell.compare_exchange_weak(cur, next, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(seen) => cur = seen,
        }
    }
}

impl Histogram {
    /// A histogram with the given upper bounds (non-empty, finite, strictly increasing; `+Inf`
    /// is implicit).
    pub fn new(bounds: &[f64]) -> Result<Self, MetricsError> {
        Ok(Self::with_bounds(validate_bounds(bounds)?))
    }

    /// A histogram over already validated, shared bounds (one allocation per family, not per
    /// series).
    pub(crate) fn with_bounds(bounds: Arc<[f64]>) -> Self {
        Self::with_parts(bounds, None)
    }

    /// A histogram with classic buckets at `bounds` and native buckets laid out by `native`.
    pub fn with_native(bounds: &[f64], native: NativeConfig) -> Result<Self, MetricsError> {
        native.validate()?;
        Ok(Self::with_parts(validate_bounds(bounds)?, Some(native)))
    }

    /// The one constructor: validated bounds, optional (validated) native layout.
    pub(crate) fn with_parts(bounds: Arc<[f64]>, native: Option<NativeConfig>) -> Self {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self {
            bounds,
            counts,
            sum: AtomicU64::new(0f64.to_bits()),
            owner: AtomicU32::new(0),
            stripes: OnceLock::new(),
            native: native.map(|n| Box::new(NativeBuckets::new(&n))),
            exemplars: OnceLock::new(),
            created_ms: unix_ms_now(),
        }
    }

    /// Cells per stripe: the counts and the sum, rounded up to whole 64-byte lines plus one
    /// spare line, so no two stripes' cells ever share a cache line.
    fn stride(&self) -> usize {
        (self.counts.len() + 1).next_multiple_of(8) + 8
    }

    /// Records one observation. NaN is counted in `+Inf` only (as Prometheus does), and in no
    /// native bucket.
    #[inline]
    pub fn observe(&self, v: f64) {
        self.observe_in(self.bucket_of(v), v);
    }

    /// [`Histogram::observe`] with the classic bucket already found.
    #[inline]
    fn observe_in(&self, idx: usize, v: f64) {
        self.observe_classic(idx, v);
        if let Some(native) = &self.native {
            if !v.is_nan() {
                native.observe(v);
            }
        }
    }

    /// Records one observation and makes it its bucket's exemplar, with `labels` (e.g.
    /// `[("order_id", "42"), ("exchange", "sim")]`) and the current time. The exemplar is
    /// dropped (the observation is not) when the labels are invalid or longer than
    /// [`super::EXEMPLAR_MAX_CHARS`] characters together, for NaN, or when another thread is
    /// writing that bucket's exemplar at the same instant; the return value says whether it
    /// was kept.
    pub fn observe_with_exemplar(&self, v: f64, labels: &[(&str, &str)]) -> bool {
        let idx = self.bucket_of(v);
        self.observe_in(idx, v);
        if v.is_nan() || !valid_exemplar_labels(labels) {
            return false;
        }
        self.exemplar_cells_made()[idx].record(labels, v, unix_ms_now());
        true
    }

    /// Records one observation; when its bucket's exemplar was last refreshed through this
    /// method at least `every` before `now` (or never), also hands out the slot to write this
    /// observation's exemplar into. For a hot path (every API request): a frequent bucket's
    /// exemplar is refreshed once per `every` at the cost of a clock comparison otherwise, while
    /// a rarely hit bucket (a latency spike) always takes its observation; the caller makes the
    /// exemplar's labels only when it gets a slot. One of several threads due at once wins.
    #[inline]
    pub fn observe_sampled(&self, v: f64, now: Ticks, every: Duration) -> Option<ExemplarSlot<'_>> {
        let idx = self.bucket_of(v);
        self.observe_in(idx, v);
        if v.is_nan() {
            return None;
        }
        let cell = &self.exemplar_cells_made()[idx];
        let last = cell.sampled_at.load(Relaxed);
        if last != 0 && clock().seconds_between(Ticks::from_raw(last), now) < every.as_secs_f64() {
            return None;
        }
        let claimed = now.raw().max(1);
        cell.sampled_at
            .compare_exchange(last, claimed, Relaxed, Relaxed)
            .ok()?;
        Some(ExemplarSlot { cell, value: v })
    }

    /// The exemplar cells, one per classic bucket, made on first use.
    fn exemplar_cells_made(&self) -> &[ExemplarCell] {
        self.exemplars.get_or_init(|| {
            (0..self.counts.len())
                .map(|_| ExemplarCell::default())
                .collect()
        })
    }

    /// The classic bucket `v` falls in (`bounds.len()` is `+Inf`).
    #[inline]
    fn bucket_of(&self, v: f64) -> usize {
        if v.is_nan() {
            self.bounds.len()
        } else {
            self.bounds.partition_point(|b| *b < v)
        }
    }

    #[inline]
    fn observe_classic(&self, idx: usize, v: f64) {
        let me = thread_token();
        if self.stripes.get().is_none() && is_sole_writer(&self.owner, me) {
            self.counts[idx].fetch_add(1, Relaxed);
            add_f64(&self.sum, v);
            return;
        }
        // A second thread observes this series: contention is real, spread it out.
        let stride = self.stride();
        let stripes = self
            .stripes
            .get_or_init(|| (0..STRIPES * stride).map(|_| AtomicU64::new(0)).collect());
        let start = (me as usize % STRIPES) * stride;
        let stripe = &stripes[start..start + stride];
        stripe[idx].fetch_add(1, Relaxed);
        add_f64(&stripe[self.counts.len()], v);
    }

    /// The upper bounds (without `+Inf`).
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Whether the histogram keeps native buckets.
    pub fn is_native(&self) -> bool {
        self.native.is_some()
    }

    /// Reads the native buckets into `out` (schema reduced to the bucket limit); false (and
    /// `out` untouched) when the histogram has none. Read before the classic state
    /// ([`Histogram::snapshot_into`]), the count is never below the native buckets' total.
    pub fn native_snapshot_into(&self, out: &mut NativeSnapshot) -> bool {
        match &self.native {
            Some(n) => {
                n.snapshot(out);
                true
            }
            None => false,
        }
    }

    /// The exemplar of each bucket (`+Inf` last), `None` where none was recorded.
    pub fn exemplars(&self) -> Vec<Option<ExemplarData>> {
        match self.exemplars.get() {
            Some(cells) => cells.iter().map(ExemplarCell::get).collect(),
            None => vec![None; self.counts.len()],
        }
    }

    pub(crate) fn exemplar_cells(&self) -> Option<&[ExemplarCell]> {
        self.exemplars.get().map(|c| &**c)
    }

    /// Unix time in milliseconds the histogram started counting (its created timestamp).
    pub fn created_ms(&self) -> i64 {
        self.created_ms
    }

    /// Reads the state: cumulative counts per bound, then `+Inf` (== count), into `cumulative`
    /// (cleared first), and returns the sum. Cumulative by construction, whatever races.
    pub fn snapshot_into(&self, cumulative: &mut Vec<u64>) -> f64 {
        cumulative.clear();
        let mut acc = 0u64;
        cumulative.extend(self.counts.iter().map(|c| {
            acc = acc.wrapping_add(c.load(Relaxed));
            acc
        }));
        if let Some(stripes) = self.stripes.get() {
            // The running sums of the parts add up to the running sum of the whole.
            for stripe in stripes.chunks_exact(self.stride()) {
                let mut acc = 0u64;
                for (total, c) in cumulative.iter_mut().zip(stripe) {
                    acc = acc.wrapping_add(c.load(Relaxed));
                    *total = total.wrapping_add(acc);
                }
            }
        }
        self.sum()
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        let mut total = self.counts.iter().map(|c| c.load(Relaxed)).sum::<u64>();
        if let Some(stripes) = self.stripes.get() {
            for stripe in stripes.chunks_exact(self.stride()) {
                total += stripe[..self.counts.len()]
                    .iter()
                    .map(|c| c.load(Relaxed))
                    .sum::<u64>();
            }
        }
        total
    }

    /// Sum of observations.
    pub fn sum(&self) -> f64 {
        let mut sum = f64::from_bits(self.sum.load(Relaxed));
        if let Some(stripes) = self.stripes.get() {
            for stripe in stripes.chunks_exact(self.stride()) {
                sum += f64::from_bits(stripe[self.counts.len()].load(Relaxed));
            }
        }
        sum
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("bounds", &self.bounds)
            .field("count", &self.count())
            .field("sum", &self.sum())
            .finish()
    }
}

/// Where [`Histogram::observe_sampled`] lets one observation's exemplar be written.
#[must_use = "the exemplar is written by `record`"]
pub struct ExemplarSlot<'a> {
    cell: &'a ExemplarCell,
    value: f64,
}

impl ExemplarSlot<'_> {
    /// Writes the exemplar with `labels` and the current time; `false` (nothing written) when
    /// the labels are invalid or too long, or another thread is writing the cell.
    pub fn record(self, labels: &[(&str, &str)]) -> bool {
        if !valid_exemplar_labels(labels) {
            return false;
        }
        self.cell.record(labels, self.value, unix_ms_now());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sampled_exemplar_is_refreshed_once_per_interval_per_bucket() {
        let h = Histogram::new(&[0.01, 0.1]).expect("bounds");
        let every = Duration::from_secs(1);
        let t0 = clock().now();
        // A reading at least `seconds` and less than twice that after t0 (ticks doubled until
        // the clock reads that far; no waiting).
        let later = |seconds: f64| {
            let mut delta = 1u64;
            while clock().seconds_between(t0, Ticks::from_raw(t0.raw() + delta)) < seconds {
                delta *= 2;
            }
            Ticks::from_raw(t0.raw() + delta)
        };
        let first = h
            .observe_sampled(0.005, t0, every)
            .expect("never written: due");
        assert!(first.record(&[("request_id", "a")]));
        // Same bucket within the interval: counted, no slot.
        assert!(h.observe_sampled(0.006, later(0.5), every).is_none());
        // Another bucket is due at once (a slow request is never skipped for a fast one).
        let slow = h
            .observe_sampled(0.05, later(0.5), every)
            .expect("its own bucket");
        assert!(slow.record(&[("request_id", "slow")]));
        let again = h
            .observe_sampled(0.007, later(1.5), every)
            .expect("interval over");
        assert!(again.record(&[("request_id", "c")]));
        assert!(h.observe_sampled(f64::NAN, later(3.0), every).is_none());
        let ids: Vec<Option<String>> = h
            .exemplars()
            .into_iter()
            .map(|e| e.map(|e| e.labels[0].1.clone()))
            .collect();
        assert_eq!(ids, [Some("c".into()), Some("slow".into()), None]);
        assert_eq!(h.count(), 5);
    }

    #[test]
    fn buckets_are_cumulative_and_inf_equals_count() {
        let h = Histogram::new(&[0.01, 0.05, 0.1, 0.5, 1.0]).expect("bounds");
        for v in [0.005, 0.01, 0.02, 0.3, 0.7, 2.0, 100.0] {
            h.observe(v);
        }
        let mut cum = Vec::new();
        let sum = h.snapshot_into(&mut cum);
        // le=0.01 counts 0.005 and 0.01 (upper bound inclusive).
        assert_eq!(cum, vec![2, 3, 3, 4, 5, 7]);
        assert_eq!(*cum.last().expect("inf"), h.count());
        assert!((sum - 103.035).abs() < 1e-9);
    }

    #[test]
    fn custom_bounds_work() {
        let h = Histogram::new(&[1.0, 10.0]).expect("bounds");
        h.observe(5.0);
        h.observe(-3.0);
        let mut cum = Vec::new();
        let sum = h.snapshot_into(&mut cum);
        assert_eq!(cum, vec![1, 2, 2]);
        assert_eq!(sum, 2.0);
    }

    #[test]
    fn one_observer_stays_compact() {
        let h = Histogram::new(&[1.0]).expect("bounds");
        for _ in 0..10 {
            h.observe(0.5);
        }
        assert!(h.stripes.get().is_none());
        assert_eq!(h.count(), 10);
    }

    /// Four threads observing one series: every observation lands in its bucket and the sum,
    /// whichever cells (base or stripes) took it, and the buckets stay cumulative.
    #[test]
    fn observes_exactly_from_many_threads() {
        let h = Arc::new(Histogram::new(&[1.0, 10.0]).expect("bounds"));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let h = Arc::clone(&h);
                std::thread::spawn(move || {
                    for i in 0..10_000 {
                        // Thread 0 stays under 1, the others alternate 5 and 50.
                        let v = if t == 0 {
                            0.5
                        } else if i % 2 == 0 {
                            5.0
                        } else {
                            50.0
                        };
                        h.observe(v);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert!(h.stripes.get().is_some(), "contention must stripe");
        let mut cum = Vec::new();
        let sum = h.snapshot_into(&mut cum);
        assert_eq!(cum, vec![10_000, 25_000, 40_000]);
        assert_eq!(h.count(), 40_000);
        assert_eq!(sum, 10_000.0 * 0.5 + 15_000.0 * 5.0 + 15_000.0 * 50.0);
    }

    #[test]
    fn nan_goes_to_inf_only() {
        let h = Histogram::new(&[1.0]).expect("bounds");
        h.observe(f64::NAN);
        let mut cum = Vec::new();
        h.snapshot_into(&mut cum);
        assert_eq!(cum, vec![0, 1]);
    }

    #[test]
    fn bad_bounds_are_errors_not_panics() {
        for bad in [
            &[][..],
            &[1.0, 1.0][..],
            &[2.0, 1.0][..],
            &[f64::NAN][..],
            &[1.0, f64::INFINITY][..],
        ] {
            let e = Histogram::new(bad).expect_err("must reject");
            assert!(matches!(e, MetricsError::InvalidBuckets { .. }), "{e}");
        }
    }
}
