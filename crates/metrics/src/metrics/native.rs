//! Native (sparse, exponential) histogram buckets, as Prometheus defines them: at schema `s`
//! bucket `i` holds the observations in `(2^((i-1)/2^s), 2^(i/2^s)]`, so every bucket is as wide,
//! relative to its value, as every other; a zero bucket holds `|v| <= zero_threshold`.
//!
//! Why it is built this way:
//! * **Lock-free, one atomic per observation.** Counts live in per-octave chunks of atomics
//!   (one octave is `2^s` buckets; 64 bytes at schema 3), allocated the first time an
//!   observation lands in that octave; the index of a value is a few bit operations and a
//!   search over at most `2^s` mantissa bounds. Nothing is ever reset or moved.
//! * **Schema reduction at encode time.** client_golang halves the resolution of a live
//!   histogram when it has more than the allowed number of buckets. Here observations are
//!   always kept at the configured schema, and the encoder picks the finest schema (at most the
//!   configured one) whose buckets fit the limit, merging neighbours (`i -> ((i-1) >> d) + 1`,
//!   exactly how Prometheus reduces). The exposed histogram is what client_golang would expose;
//!   observing never has to stop the world to re-bucket, and since buckets only ever fill up, the
//!   schema a scrape sees never goes back up.
//! * **Range.** Octaves from 2^-64 to 2^64 are kept (the zero bucket takes everything closer to
//!   zero; values beyond 2^64 and infinities are counted in the outermost bucket). NaN is counted
//!   by the histogram's count and sum only, as Prometheus does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::MetricsError;

/// How a histogram's native buckets are laid out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NativeConfig {
    /// Growth factor of consecutive buckets (client_golang's `NativeHistogramBucketFactor`):
    /// the schema is the finest whose factor does not exceed it. 1.1 gives schema 3.
    pub bucket_factor: f64,
    /// Most buckets (positive and negative) one scrape shows; the schema is reduced to fit.
    pub max_buckets: u32,
}

impl Default for NativeConfig {
    /// client_golang's recommended settings: factor 1.1 (schema 3), at most 160 buckets.
    fn default() -> Self {
        Self {
            bucket_factor: 1.1,
            max_buckets: 160,
        }
    }
}

impl NativeConfig {
    /// The schema for the bucket factor, as client_golang picks it (-4..=8).
    pub fn schema(&self) -> i32 {
        let floor = self.bucket_factor.log2().log2().floor();
        if floor <= -8.0 {
            8
        } else if floor >= 4.0 {
            -4
        } else {
            -(floor as i32)
        }
    }

    /// Checks the factor is a finite number above 1 and the bucket limit is at least 1.
    pub fn validate(&self) -> Result<(), MetricsError> {
        if !(self.bucket_factor.is_finite() && self.bucket_factor > 1.0) {
            return Err(MetricsError::InvalidNativeHistogram(format!(
                "bucket factor must be a finite number above 1, not {}",
                self.bucket_factor
            )));
        }
        if self.max_buckets == 0 {
            return Err(MetricsError::InvalidNativeHistogram(
                "max buckets must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Width of the zero bucket: `[-2^-64, 2^-64]`.
pub const ZERO_THRESHOLD: f64 = 5.421_010_862_427_522e-20;
/// Octave chunks kept: keys from the octave above 2^-64 up to the one holding 2^64.
const CHUNKS: usize = 129;
/// Chunk slot of octave 0 (the octave `(1, 2]` at schema 0 is chunk 0).
const CHUNK_OFFSET: i32 = 64;

/// One side (positive or negative values) of the native buckets.
struct Side {
    chunks: Box<[OnceLock<Box<[AtomicU64]>>]>,
}

impl Side {
    fn new() -> Self {
        Self {
            chunks: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
        }
    }
}

/// The native buckets of one histogram series (the count and sum are the classic histogram's).
pub(crate) struct NativeBuckets {
    /// Schema the counts are kept at (`max(configured, 0)`).
    store_schema: i32,
    /// Schema a scrape starts from (the configured one, may be below 0).
    schema: i32,
    max_buckets: usize,
    /// Where in an octave a mantissa falls, at the storage schema.
    bounds: &'static MantissaBounds,
    zero: AtomicU64,
    positive: Side,
    negative: OnceLock<Side>,
}

/// The bucket boundaries inside one octave at one schema, as mantissa bits.
struct MantissaBounds {
    /// Mantissa bits of `2^(j / 2^schema)` for `j` in `0..2^schema` (`bounds[0]` is 0), then a
    /// sentinel above every mantissa.
    bounds: Box<[u64]>,
    /// For each value of a mantissa's top [`TOP_BITS`] bits, how many bounds lie below every
    /// mantissa starting with those bits. Bounds are at least `2^(1/256) - 1` (> 2^-9) apart
    /// and a cell is 2^-12 wide, so at most one bound falls inside a cell: one comparison,
    /// without a branch, finishes the search (values vary, so a branch would mispredict).
    start: Box<[u16]>,
}

/// Mantissa bits of an `f64`.
const MANTISSA: u64 = (1u64 << 52) - 1;
/// Mantissa bits the start table is indexed by.
const TOP_BITS: u32 = 12;

impl MantissaBounds {
    /// The bucket of a mantissa within its octave: the smallest `j` with
    /// `2^(j / 2^schema) >= 1 + mantissa` (`j == 2^schema` is the next octave's first bucket).
    #[inline]
    fn position(&self, mantissa: u64) -> usize {
        let j = usize::from(self.start[(mantissa >> (52 - TOP_BITS)) as usize]);
        j + usize::from(self.bounds[j] < mantissa)
    }
}

/// Mantissa bounds per schema 0..=8, computed once.
fn mantissa_bounds(schema: i32) -> &'static MantissaBounds {
    static TABLES: [OnceLock<MantissaBounds>; 9] = [const { OnceLock::new() }; 9];
    let s = schema.clamp(0, 8) as usize;
    TABLES[s].get_or_init(|| {
        let n = 1u32 << s;
        let mut bounds: Vec<u64> = (0..n)
            .map(|j| (f64::from(j) / f64::from(n)).exp2().to_bits() & MANTISSA)
            .collect();
        bounds.push(u64::MAX);
        let start = (0..1u64 << TOP_BITS)
            .map(|top| {
                bounds[..n as usize]
                    .iter()
                    .filter(|b| **b < top << (52 - TOP_BITS))
                    .count() as u16
            })
            .collect();
        MantissaBounds {
            bounds: bounds.into_boxed_slice(),
            start,
        }
    })
}

impl NativeBuckets {
    pub(crate) fn new(config: &NativeConfig) -> Self {
        let schema = config.schema();
        let store_schema = schema.max(0);
        Self {
            store_schema,
            schema,
            max_buckets: config.max_buckets.max(1) as usize,
            bounds: mantissa_bounds(store_schema),
            zero: AtomicU64::new(0),
            positive: Side::new(),
            negative: OnceLock::new(),
        }
    }

    /// Buckets per octave at the storage schema.
    #[inline]
    fn per_octave(&self) -> usize {
        1 << self.store_schema
    }

    /// Records `v` (not NaN). Release, so a scrape that reads this increment (Acquire) also
    /// sees the classic histogram's increment made before it: `count` is never below the
    /// native buckets' total.
    #[inline]
    pub(crate) fn observe(&self, v: f64) {
        let a = v.abs();
        if a <= ZERO_THRESHOLD {
            self.zero.fetch_add(1, Ordering::Release);
            return;
        }
        let side = if v > 0.0 {
            &self.positive
        } else {
            self.negative.get_or_init(Side::new)
        };
        let (slot, sub) = self.locate(a);
        let n = self.per_octave();
        let chunk = side.chunks[slot].get_or_init(|| {
            (0..n)
                .map(|_| AtomicU64::new(0))
                .collect::<Box<[AtomicU64]>>()
        });
        chunk[sub].fetch_add(1, Ordering::Release);
    }

    /// Chunk slot and position in the chunk of the bucket holding `a` (> zero threshold).
    /// The bucket's index is `(exp - 1) * n + j` for `a = frac * 2^exp`, `frac` in `[0.5, 1)`;
    /// its chunk is `exp - 1` (or `exp` when `j == n`), without a division.
    #[inline]
    fn locate(&self, a: f64) -> (usize, usize) {
        let bits = a.to_bits();
        // a > 2^-64 is always a normal number: the exponent field is exp + 1022.
        let exp = ((bits >> 52) & 0x7ff) as i32 - 1022;
        let j = self.bounds.position(bits & MANTISSA);
        let n = self.per_octave();
        let slot = exp - 1 + (j >> self.store_schema) as i32 + CHUNK_OFFSET;
        if slot < 0 {
            (0, 0)
        } else if slot as usize >= CHUNKS {
            (CHUNKS - 1, n - 1)
        } else {
            (slot as usize, j & (n - 1))
        }
    }

    /// Reads the buckets: the schema that fits the bucket limit, the zero count, and the
    /// non-empty buckets of each side as `(index, count)` in increasing index order.
    pub(crate) fn snapshot(&self, out: &mut NativeSnapshot) {
        out.positive.clear();
        out.negative.clear();
        out.zero_count = self.zero.load(Ordering::Acquire);
        let n = self.per_octave() as i32;
        let read = |side: &Side, into: &mut Vec<(i32, u64)>| {
            for (slot, chunk) in side.chunks.iter().enumerate() {
                let Some(chunk) = chunk.get() else { continue };
                for (sub, c) in chunk.iter().enumerate() {
                    let c = c.load(Ordering::Acquire);
                    if c > 0 {
                        into.push(((slot as i32 - CHUNK_OFFSET) * n + sub as i32, c));
                    }
                }
            }
        };
        read(&self.positive, &mut out.positive);
        if let Some(neg) = self.negative.get() {
            read(neg, &mut out.negative);
        }
        let mut schema = self.schema;
        loop {
            let d = (self.store_schema - schema) as u32;
            let fits = distinct_reduced(&out.positive, d) + distinct_reduced(&out.negative, d)
                <= self.max_buckets;
            if fits || schema <= -4 {
                break;
            }
            schema -= 1;
        }
        let d = (self.store_schema - schema) as u32;
        reduce(&mut out.positive, d);
        reduce(&mut out.negative, d);
        out.schema = schema;
    }
}

/// The bucket index at `d` schema steps coarser (as Prometheus reduces a schema).
#[inline]
fn coarser(index: i32, d: u32) -> i32 {
    ((index - 1) >> d) + 1
}

fn distinct_reduced(buckets: &[(i32, u64)], d: u32) -> usize {
    let mut n = 0;
    let mut last = None;
    for (i, _) in buckets {
        let r = coarser(*i, d);
        if last != Some(r) {
            n += 1;
            last = Some(r);
        }
    }
    n
}

fn reduce(buckets: &mut Vec<(i32, u64)>, d: u32) {
    if d == 0 {
        return;
    }
    let mut w = 0usize;
    for r in 0..buckets.len() {
        let (i, c) = buckets[r];
        let i = coarser(i, d);
        if w > 0 && buckets[w - 1].0 == i {
            buckets[w - 1].1 += c;
        } else {
            buckets[w] = (i, c);
            w += 1;
        }
    }
    buckets.truncate(w);
}

/// What a scrape reads of the native buckets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NativeSnapshot {
    /// The schema of the indexes below.
    pub schema: i32,
    /// Observations with `|v| <= ZERO_THRESHOLD`.
    pub zero_count: u64,
    /// Non-empty positive buckets, `(index, count)`, increasing index.
    pub positive: Vec<(i32, u64)>,
    /// Non-empty negative buckets (index of `|v|`), increasing index.
    pub negative: Vec<(i32, u64)>,
}

impl NativeSnapshot {
    /// Upper bound of bucket `index` at this schema: `2^(index / 2^schema)`.
    pub fn upper_bound(&self, index: i32) -> f64 {
        (f64::from(index) * (-f64::from(self.schema)).exp2()).exp2()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(b: &NativeBuckets) -> NativeSnapshot {
        let mut s = NativeSnapshot::default();
        b.snapshot(&mut s);
        s
    }

    #[test]
    fn factor_picks_the_client_golang_schema() {
        let s = |f| {
            NativeConfig {
                bucket_factor: f,
                max_buckets: 160,
            }
            .schema()
        };
        assert_eq!(s(1.1), 3);
        assert_eq!(s(2.0), 0);
        assert_eq!(s(1.0001), 8);
        assert_eq!(s(1e9), -4);
        assert_eq!(s(1.5), 1);
    }

    /// Every value lands in the bucket whose bounds hold it (upper bound inclusive), at every
    /// stored schema, across octaves and at exact powers of two.
    #[test]
    fn values_land_in_the_bucket_that_holds_them() {
        for schema in 0..=8 {
            let factor = (2f64).powf((2f64).powi(-schema)) + 1e-12;
            let cfg = NativeConfig {
                bucket_factor: factor,
                max_buckets: 100_000,
            };
            assert_eq!(cfg.schema(), schema, "factor {factor}");
            for v in [
                1e-9, 0.000_37, 0.001, 0.1, 0.5, 1.0, 1.0001, 2.0, 3.7, 1024.0, 9e9,
            ] {
                let b = NativeBuckets::new(&cfg);
                b.observe(v);
                let s = snap(&b);
                assert_eq!(s.positive.len(), 1);
                let (i, c) = s.positive[0];
                assert_eq!(c, 1);
                let (lo, hi) = (s.upper_bound(i - 1), s.upper_bound(i));
                let eps = hi * 1e-12;
                assert!(
                    v > lo - eps && v <= hi + eps,
                    "schema {schema}: {v} in bucket {i} ({lo}, {hi}]"
                );
            }
        }
    }

    /// The one-step search agrees with a full search for every bound and its neighbours.
    #[test]
    fn one_step_search_matches_a_full_search() {
        for schema in 0..=8 {
            let t = mantissa_bounds(schema);
            let n = 1usize << schema;
            let full = |m: u64| t.bounds[..n].iter().filter(|b| **b < m).count();
            for b in &t.bounds[..n] {
                for m in [b.saturating_sub(1), *b, b + 1, b + (1 << 30)] {
                    let m = m & MANTISSA;
                    assert_eq!(t.position(m), full(m), "schema {schema} mantissa {m:#x}");
                }
            }
            for m in (0..MANTISSA).step_by(MANTISSA as usize / 5000) {
                assert_eq!(t.position(m), full(m), "schema {schema} mantissa {m:#x}");
            }
        }
    }

    #[test]
    fn zero_and_negative_values() {
        let b = NativeBuckets::new(&NativeConfig::default());
        b.observe(0.0);
        b.observe(-0.0);
        b.observe(1e-25);
        b.observe(-0.5);
        let s = snap(&b);
        assert_eq!(s.zero_count, 3);
        assert_eq!(s.negative, vec![(-8, 1)]);
        assert!(s.positive.is_empty());
    }

    /// More buckets than allowed: the schema drops until they fit, and no count is lost.
    #[test]
    fn schema_is_reduced_to_fit_the_bucket_limit() {
        let b = NativeBuckets::new(&NativeConfig {
            bucket_factor: 1.1,
            max_buckets: 20,
        });
        let mut v = 1e-6;
        let mut n = 0u64;
        while v < 1e3 {
            b.observe(v);
            v *= 1.05;
            n += 1;
        }
        let s = snap(&b);
        assert!(s.positive.len() <= 20, "{} buckets", s.positive.len());
        assert!(s.schema < 3);
        assert_eq!(s.positive.iter().map(|(_, c)| c).sum::<u64>(), n);
        assert!(s.positive.windows(2).all(|w| w[0].0 < w[1].0));
        // The same observations at the full schema would not have fit.
        let full = NativeBuckets::new(&NativeConfig {
            bucket_factor: 1.1,
            max_buckets: 100_000,
        });
        let mut v = 1e-6;
        while v < 1e3 {
            full.observe(v);
            v *= 1.05;
        }
        assert!(snap(&full).positive.len() > 20);
    }

    #[test]
    fn negative_schemas_merge_octaves() {
        let b = NativeBuckets::new(&NativeConfig {
            bucket_factor: 16.0,
            max_buckets: 160,
        });
        b.observe(3.0); // schema 0 bucket 2 -> schema -2 bucket 1 (1, 16]
        b.observe(10.0);
        let s = snap(&b);
        assert_eq!(s.schema, -2);
        assert_eq!(s.positive, vec![(1, 2)]);
    }

    #[test]
    fn out_of_range_values_go_to_the_outermost_bucket() {
        let b = NativeBuckets::new(&NativeConfig::default());
        b.observe(f64::INFINITY);
        b.observe(1e300);
        let s = snap(&b);
        assert_eq!(s.positive.len(), 1);
        assert_eq!(s.positive[0].1, 2);
    }
}
