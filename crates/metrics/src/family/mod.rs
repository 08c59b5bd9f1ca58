//! Labelled families: one metric per combination of bounded label values, found by label
//! values without allocating. How a family is written into a scrape is in [`encode`].

mod encode;

pub(crate) use encode::Collect;
pub use encode::Metric;
#[doc(hidden)]
pub use encode::SeriesText;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use crate::encoding::{self, FamilyMeta, SampleHeads};
use crate::hash::{hash_values, FxBuild};
use crate::{LabelDomain, MetricsError};

/// What a text scrape reads of one series: the metric and where its label text ends in
/// [`Table::label_text`] (it starts where the previous series' ends). Small and dense, so a
/// scrape walks the series in order without touching the protobuf cache or the keys.
struct Series<M> {
    metric: Arc<M>,
    labels_end: usize,
}

/// The rest of a series, in the same order as [`Table::series`]: its key and its protobuf label
/// pairs (encoded on the first protobuf scrape).
struct Cold {
    key: u64,
    labels_pb: OnceLock<Box<[u8]>>,
}

struct Table<M> {
    /// Series key -> position in `series`.
    index: HashMap<u64, u32, FxBuild>,
    series: Vec<Series<M>>,
    /// The label text (`a="x",b="y"`, rendered and escaped once) of every series, back to back
    /// in series order: a scrape reads it as one stream instead of one allocation per series.
    label_text: String,
    cold: Vec<Cold>,
}

impl<M> Table<M> {
    /// A cursor over the series' label text, to be advanced series by series in order.
    fn labels(&self) -> LabelCursor<'_> {
        LabelCursor {
            text: &self.label_text,
            start: 0,
        }
    }
}

/// Walks [`Table::label_text`] series by series.
struct LabelCursor<'a> {
    text: &'a str,
    start: usize,
}

impl<'a> LabelCursor<'a> {
    /// The label text of `s`, the series after the one asked for last (the first at first).
    #[inline]
    fn next_of<M>(&mut self, s: &Series<M>) -> &'a str {
        let labels = self.text.get(self.start..s.labels_end).unwrap_or_default();
        self.start = s.labels_end;
        labels
    }
}

pub(crate) struct FamilyInner<M> {
    meta: FamilyMeta,
    domains: Box<[LabelDomain]>,
    /// Bit position of each label's value index in the series key (each domain gets
    /// `ceil(log2(len))` bits, so decoding is a shift and a mask).
    shifts: Box<[u32]>,
    masks: Box<[u64]>,
    /// The family's sample-line beginnings and bucket endings, rendered once.
    heads: SampleHeads,
    make: Box<dyn Fn() -> M + Send + Sync>,
    table: RwLock<Table<M>>,
    /// The lookup fast path: a fixed-size, insert-only, lock-free cache from the hash of the
    /// label value strings to the series (one hash for all labels, one atomic load per probe,
    /// no lock). Hits are verified against the series' values, so it is exact. Series beyond
    /// its capacity are still found, through the per-label path.
    fast: Box<[OnceLock<FastSlot<M>>]>,
    /// Whether OpenMetrics `_created` / protobuf created timestamps are written.
    created: AtomicBool,
    /// Bytes the protobuf length prefix of this family took last time (a guess for the next).
    pb_prefix: AtomicUsize,
}

/// One cached series of the fast path.
struct FastSlot<M> {
    hash: u64,
    key: u64,
    metric: Arc<M>,
}

/// Slots probed per fast-path lookup or insert.
const FAST_PROBES: usize = 8;
/// Upper bound on fast-path slots per family (32 KiB): enough for the hot series of a service.
const FAST_SLOTS_MAX: usize = 1024;

/// A metric family with labels: `get(&["buy", ...])` returns the series' handle.
///
/// Every label has a [`LabelDomain`]; a value outside it maps to the domain's fallback, so
/// hostile or buggy input can never create more series than the product of the domains' sizes.
/// Cloning is cheap (a shared handle). Keep the `Arc<M>` that `get` returns when the label
/// values are fixed: recording through it costs one atomic operation, no lookup.
pub struct Family<M> {
    inner: Arc<FamilyInner<M>>,
}

impl<M> Clone for Family<M> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<M: Metric> Family<M> {
    pub(crate) fn new(
        name: &str,
        help: &str,
        domains: Vec<LabelDomain>,
        le: Box<[Box<str>]>,
        make: Box<dyn Fn() -> M + Send + Sync>,
    ) -> Result<Self, MetricsError> {
        let meta = FamilyMeta::new(name, help, M::TYPE);
        let mut shifts = Vec::with_capacity(domains.len());
        let mut masks = Vec::with_capacity(domains.len());
        let mut shift: u32 = 0;
        for d in &domains {
            let bits = usize::BITS - (d.len().max(1) - 1).leading_zeros();
            // A one-value domain takes no bits (shift 0, mask 0), so no shift ever reaches 64.
            shifts.push(if bits == 0 { 0 } else { shift });
            masks.push(if bits == 0 {
                0
            } else {
                u64::MAX >> (64 - bits)
            });
            shift += bits;
            if shift > 64 {
                return Err(MetricsError::TooManySeries(name.to_owned()));
            }
        }
        let product = domains
            .iter()
            .fold(1usize, |p, d| p.saturating_mul(d.len().max(1)));
        let slots = product
            .min(FAST_SLOTS_MAX)
            .saturating_mul(2)
            .next_power_of_two()
            .clamp(FAST_PROBES, FAST_SLOTS_MAX);
        let heads = SampleHeads::new(&meta.base, &le);
        let inner = Arc::new(FamilyInner {
            meta,
            fast: (0..slots).map(|_| OnceLock::new()).collect(),
            domains: domains.into_boxed_slice(),
            shifts: shifts.into_boxed_slice(),
            masks: masks.into_boxed_slice(),
            heads,
            make,
            table: RwLock::new(Table {
                index: HashMap::default(),
                series: Vec::new(),
                label_text: String::new(),
                cold: Vec::new(),
            }),
            created: AtomicBool::new(true),
            pb_prefix: AtomicUsize::new(1),
        });
        if inner.domains.is_empty() {
            // A label-less family always has its one series.
            inner.get_by_key(0);
        }
        Ok(Self { inner })
    }

    /// The series for these label values (in label order). Unknown values map to their domain's
    /// fallback; a wrong number of values maps to all fallbacks. Never panics.
    #[inline]
    pub fn get(&self, values: &[&str]) -> Arc<M> {
        if let Some(m) = self.inner.get_fast(values) {
            return m;
        }
        self.inner.get_by_key(self.inner.key(values))
    }

    /// Runs `f` on the series for these label values (mapped as [`Family::get`] maps them).
    /// The way to record through a label lookup: a series the lookup cache holds is borrowed,
    /// not cloned, so no reference count is touched (two atomic operations fewer than
    /// `get(..).inc()`, and no cache line shared by every thread that records).
    #[inline]
    pub fn with<R>(&self, values: &[&str], f: impl FnOnce(&M) -> R) -> R {
        if let Some(m) = self.inner.get_fast_ref(values) {
            return f(m);
        }
        f(&self.inner.get_by_key(self.inner.key(values)))
    }

    /// Number of series created so far.
    pub fn series_count(&self) -> usize {
        self.inner.read().series.len()
    }

    /// The label domains, in label order.
    pub fn domains(&self) -> &[LabelDomain] {
        &self.inner.domains
    }

    /// The exported name (text format; counters end with `_total`).
    pub fn name(&self) -> String {
        self.inner.meta.text_name()
    }

    /// Stops exporting created timestamps for this family. For lifetime counters that continue
    /// from a journal after a restart: their value did not start at zero when the series was
    /// made, and a created timestamp would tell Prometheus it did (a reset that never happened).
    pub fn without_created_timestamps(&self) -> &Self {
        self.inner.created.store(false, Relaxed);
        self
    }

    pub(crate) fn collector(&self) -> Arc<dyn Collect> {
        Arc::clone(&self.inner) as Arc<dyn Collect>
    }

    pub(crate) fn meta(&self) -> &FamilyMeta {
        &self.inner.meta
    }
}

impl<M: Metric> FamilyInner<M> {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table<M>> {
        self.table.read().unwrap_or_else(PoisonError::into_inner)
    }

    #[inline]
    fn key(&self, values: &[&str]) -> u64 {
        let mut key = 0u64;
        if values.len() == self.domains.len() {
            for ((d, s), v) in self.domains.iter().zip(self.shifts.iter()).zip(values) {
                key |= u64::from(d.index_of(v)) << s;
            }
        } else {
            for (d, s) in self.domains.iter().zip(self.shifts.iter()) {
                key |= u64::from(d.fallback_index()) << s;
            }
        }
        key
    }

    /// The value index of label `i` in `key`.
    #[inline]
    fn index_in(&self, key: u64, i: usize) -> u32 {
        ((key >> self.shifts[i]) & self.masks[i]) as u32
    }

    /// Fast path: an existing series whose label values are exactly `values` (no fallback
    /// mapping needed), found with one hash of all values. `None` sends the caller to the
    /// per-label path (unknown values, wrong arity, new series, or a hash collision).
    #[inline]
    fn get_fast(&self, values: &[&str]) -> Option<Arc<M>> {
        self.get_fast_slot(values).map(|s| Arc::clone(&s.metric))
    }

    /// [`Self::get_fast`], borrowed: slots are never emptied, so the metric lives as long as
    /// the family.
    #[inline]
    fn get_fast_ref(&self, values: &[&str]) -> Option<&M> {
        self.get_fast_slot(values).map(|s| &*s.metric)
    }

    #[inline]
    fn get_fast_slot(&self, values: &[&str]) -> Option<&FastSlot<M>> {
        if values.len() != self.domains.len() {
            return None;
        }
        let h = hash_values(values);
        let mask = self.fast.len() - 1;
        for probe in 0..FAST_PROBES {
            // Slots are filled in probe order and never emptied: an empty one ends the search.
            let slot = self.fast[(h as usize).wrapping_add(probe) & mask].get()?;
            if slot.hash == h
                && values.iter().enumerate().all(|(i, v)| {
                    same_bytes(self.domains[i].value_at(self.index_in(slot.key, i)), v)
                })
            {
                return Some(slot);
            }
        }
        None
    }

    /// Offers a new series to the fast path (first empty slot in its probe sequence, if any).
    fn cache(&self, h: u64, key: u64, metric: &Arc<M>) {
        let mask = self.fast.len() - 1;
        for probe in 0..FAST_PROBES {
            let slot = &self.fast[(h as usize).wrapping_add(probe) & mask];
            if slot.get().is_none() {
                let _ = slot.set(FastSlot {
                    hash: h,
                    key,
                    metric: Arc::clone(metric),
                });
                return;
            }
        }
    }

    #[inline]
    fn get_by_key(&self, key: u64) -> Arc<M> {
        {
            let t = self.read();
            if let Some(s) = t.index.get(&key).and_then(|&i| t.series.get(i as usize)) {
                return Arc::clone(&s.metric);
            }
        }
        let mut t = self.table.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = t.index.get(&key).and_then(|&i| t.series.get(i as usize)) {
            return Arc::clone(&s.metric);
        }
        let values: Vec<&str> = (0..self.domains.len())
            .map(|i| self.domains[i].value_at(self.index_in(key, i)))
            .collect();
        let t = &mut *t;
        encoding::render_labels_into(
            self.domains
                .iter()
                .zip(values.iter())
                .map(|(d, v)| (d.name(), *v)),
            &mut t.label_text,
        );
        let metric = Arc::new((self.make)());
        let i = t.series.len() as u32;
        t.series.push(Series {
            metric: Arc::clone(&metric),
            labels_end: t.label_text.len(),
        });
        t.cold.push(Cold {
            key,
            labels_pb: OnceLock::new(),
        });
        t.index.insert(key, i);
        // Under the write lock, so fast-path inserts are serialized.
        self.cache(hash_values(&values), key, &metric);
        metric
    }
}

/// String equality without a `memcmp` call for the short strings label values are (the call
/// cost more than the comparison on the lookup fast path): word-sized, overlapping loads.
#[inline]
fn same_bytes(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    #[inline(always)]
    fn w8(s: &[u8], at: usize) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_ne_bytes(w)
    }
    #[inline(always)]
    fn w4(s: &[u8], at: usize) -> u32 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&s[at..at + 4]);
        u32::from_ne_bytes(w)
    }
    match n {
        0 => true,
        1..=3 => a == b,
        4..=7 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        8..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Counter, Gauge};

    fn fam() -> Family<Counter> {
        let d1 = LabelDomain::new("side", ["buy", "sell"], "other");
        let d2 = LabelDomain::new("pair", ["BTC-USDT"], "other");
        Family::new(
            "t_total",
            "h",
            vec![d1, d2],
            Box::new([]),
            Box::new(Counter::new),
        )
        .expect("family")
    }

    #[test]
    fn same_values_same_series() {
        let f = fam();
        f.get(&["buy", "BTC-USDT"]).inc();
        f.get(&["buy", "BTC-USDT"]).inc();
        assert_eq!(f.get(&["buy", "BTC-USDT"]).get(), 2);
        assert_eq!(f.series_count(), 1);
    }

    #[test]
    fn same_bytes_agrees_with_eq_at_every_length() {
        let base = "abcdefghijklmnopqrstuvwxyz0123456789";
        for n in 0..base.len() {
            let a = &base[..n];
            assert!(same_bytes(a, a));
            for i in 0..n {
                let mut b = a.as_bytes().to_vec();
                b[i] = b'#';
                let b = String::from_utf8(b).expect("ascii");
                assert!(!same_bytes(a, &b), "{a} vs {b}");
            }
            assert!(!same_bytes(a, &base[..n + 1]));
        }
    }

    #[test]
    fn key_bits_are_bounded_and_single_value_domains_take_none() {
        let big = |name: &str| LabelDomain::new(name, (0..65_535).map(|i| i.to_string()), "x");
        // 4 x 16 bits = 64 bits, plus one-value domains: still fits, never shifts by 64.
        let f: Family<Gauge> = Family::new(
            "g",
            "h",
            vec![
                big("a"),
                big("b"),
                big("c"),
                big("d"),
                LabelDomain::new("e", Vec::<String>::new(), "only"),
            ],
            Box::new([]),
            Box::new(Gauge::new),
        )
        .expect("fits in 64 bits");
        f.get(&["65534", "1", "x", "7", "anything"]).set(1.0);
        assert_eq!(f.get(&["65534", "1", "x", "7", "only"]).get(), 1.0);
        let too_big: Result<Family<Gauge>, _> = Family::new(
            "g",
            "h",
            vec![big("a"), big("b"), big("c"), big("d"), big("e")],
            Box::new([]),
            Box::new(Gauge::new),
        );
        assert!(matches!(too_big, Err(MetricsError::TooManySeries(_))));
    }

    #[test]
    fn fast_path_and_slow_path_agree() {
        let f = fam();
        let a = f.get(&["sell", "BTC-USDT"]); // creates through the per-label path
        let b = f.get(&["sell", "BTC-USDT"]); // found through the fast path
        assert!(Arc::ptr_eq(&a, &b));
        let c = f.get(&["sel", "BTC-USDT"]); // near miss: fallback, not "sell"
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(Arc::ptr_eq(&c, &f.get(&["other", "BTC-USDT"])));
    }

    #[test]
    fn a_hash_collision_on_the_fast_path_is_caught_by_verification() {
        let f = fam();
        let sell = f.get(&["sell", "BTC-USDT"]);
        // Plant a slot that claims "buy"'s hash but holds the "sell" series.
        let h = hash_values(&["buy", "BTC-USDT"]);
        f.inner.cache(h, f.inner.key(&["sell", "BTC-USDT"]), &sell);
        let buy = f.get(&["buy", "BTC-USDT"]);
        assert!(!Arc::ptr_eq(&buy, &sell));
        assert!(Arc::ptr_eq(&buy, &f.get(&["buy", "BTC-USDT"])));
        assert_eq!(f.series_count(), 2);
    }

    #[test]
    fn series_beyond_the_fast_path_capacity_are_still_found() {
        let d = LabelDomain::new("id", (0..5_000).map(|i| i.to_string()), "other");
        let f: Family<Counter> = Family::new(
            "c_total",
            "h",
            vec![d],
            Box::new([]),
            Box::new(Counter::new),
        )
        .expect("family");
        for round in 0..2 {
            for i in 0..5_000 {
                f.get(&[&i.to_string()]).inc();
            }
            assert_eq!(f.series_count(), 5_000, "round {round}");
        }
        assert!((0..5_000).all(|i| f.get(&[&i.to_string()]).get() == 2));
    }

    #[test]
    fn with_records_into_the_same_series_as_get() {
        let f = fam();
        f.with(&["buy", "BTC-USDT"], |c| c.inc()); // creates (slow path)
        f.with(&["buy", "BTC-USDT"], |c| c.inc()); // cached (fast path)
        f.with(&["nope", "BTC-USDT"], |c| c.inc_by(5)); // fallback
        assert_eq!(f.get(&["buy", "BTC-USDT"]).get(), 2);
        assert_eq!(f.get(&["other", "BTC-USDT"]).get(), 5);
        assert_eq!(f.series_count(), 2);
    }

    #[test]
    fn unknown_and_wrong_arity_go_to_fallback() {
        let f = fam();
        f.get(&["hold", "DOGE"]).inc();
        f.get(&["x"]).inc();
        f.get(&[]).inc();
        f.get(&["a", "b", "c"]).inc();
        assert_eq!(f.series_count(), 1);
        assert_eq!(f.get(&["other", "other"]).get(), 4);
    }
}
