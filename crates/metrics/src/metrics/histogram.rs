//! A histogram with fixed bucket bounds.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::MetricsError;

/// Observations counted into buckets `v <= bound`, plus their sum.
///
/// Each observation increments exactly one (non-cumulative) bucket; the encoder accumulates the
/// counts it read and derives `_count` from them, so a scrape racing with observers always shows
/// cumulative buckets with `+Inf == _count`, whatever it interleaves with.
pub struct Histogram {
    bounds: Arc<[f64]>,
    /// `bounds.len() + 1` counts; the last one is the `+Inf` overflow bucket.
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
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

impl Histogram {
    /// A histogram with the given upper bounds (non-empty, finite, strictly increasing; `+Inf`
    /// is implicit).
    pub fn new(bounds: &[f64]) -> Result<Self, MetricsError> {
        Ok(Self::with_bounds(validate_bounds(bounds)?))
    }

    /// A histogram over already validated, shared bounds (one allocation per family, not per
    /// series).
    pub(crate) fn with_bounds(bounds: Arc<[f64]>) -> Self {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self {
            bounds,
            counts,
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }

    /// Records one observation. NaN is counted in `+Inf` only (as Prometheus does).
    #[inline]
    pub fn observe(&self, v: f64) {
        let idx = if v.is_nan() {
            self.bounds.len()
        } else {
            self.bounds.partition_point(|b| *b < v)
        };
        self.counts[idx].fetch_add(1, Relaxed);
        let mut cur = self.sum.load(Relaxed);
        loop {
            let next = (f64::from_bits(cur) + v).to_bits();
            match self.sum.compare_exchange_weak(cur, next, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }

    /// The upper bounds (without `+Inf`).
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Reads the state: cumulative counts per bound, then `+Inf` (== count), into `cumulative`
    /// (cleared first), and returns the sum. Cumulative by construction, whatever races.
    pub fn snapshot_into(&self, cumulative: &mut Vec<u64>) -> f64 {
        cumulative.clear();
        let mut acc = 0u64;
        for c in self.counts.iter() {
            acc = acc.wrapping_add(c.load(Relaxed));
            cumulative.push(acc);
        }
        f64::from_bits(self.sum.load(Relaxed))
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Relaxed)).sum()
    }

    /// Sum of observations.
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Relaxed))
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

#[cfg(test)]
mod tests {
    use super::*;

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
