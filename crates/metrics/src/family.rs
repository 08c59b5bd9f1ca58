//! Labelled families: one metric per combination of bounded label values.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::encoding::{self, FamilyMeta, Format, MetricType};
use crate::hash::FxBuild;
use crate::{Counter, Gauge, Histogram, LabelDomain, MetricsError};

/// A metric type a [`Family`] can hold: [`Counter`], [`Gauge`] or [`Histogram`]. Sealed: the
/// encoders know exactly these three.
pub trait Metric: sealed::Sealed {}

pub(crate) mod sealed {
    use crate::encoding::MetricType;

    /// The encoder's view of a metric type.
    pub trait Sealed: Send + Sync + Sized + 'static {
        /// Its Prometheus type.
        const TYPE: MetricType;
        /// Appends the sample line(s) of one series.
        fn write_series(
            &self,
            base: &str,
            labels: &str,
            le: &[Box<str>],
            scratch: &mut Vec<u64>,
            out: &mut Vec<u8>,
        );
    }
}

impl Metric for Counter {}
impl sealed::Sealed for Counter {
    const TYPE: MetricType = MetricType::Counter;
    #[inline]
    fn write_series(
        &self,
        base: &str,
        labels: &str,
        _: &[Box<str>],
        _: &mut Vec<u64>,
        out: &mut Vec<u8>,
    ) {
        encoding::write_counter_sample(base, labels, self.get(), out);
    }
}

impl Metric for Gauge {}
impl sealed::Sealed for Gauge {
    const TYPE: MetricType = MetricType::Gauge;
    #[inline]
    fn write_series(
        &self,
        base: &str,
        labels: &str,
        _: &[Box<str>],
        _: &mut Vec<u64>,
        out: &mut Vec<u8>,
    ) {
        encoding::write_gauge_sample(base, labels, self.get(), out);
    }
}

impl Metric for Histogram {}
impl sealed::Sealed for Histogram {
    const TYPE: MetricType = MetricType::Histogram;
    #[inline]
    fn write_series(
        &self,
        base: &str,
        labels: &str,
        le: &[Box<str>],
        scratch: &mut Vec<u64>,
        out: &mut Vec<u8>,
    ) {
        let sum = self.snapshot_into(scratch);
        encoding::write_histogram_samples(base, labels, le, scratch, sum, out);
    }
}

/// One series: its label text, rendered and escaped once, and the metric.
struct Entry<M> {
    labels: Box<str>,
    metric: Arc<M>,
}

struct Table<M> {
    /// Series key (mixed-radix combination of domain indices) -> position in `entries`.
    index: HashMap<u64, u32, FxBuild>,
    entries: Vec<Entry<M>>,
}

pub(crate) struct FamilyInner<M> {
    meta: FamilyMeta,
    domains: Box<[LabelDomain]>,
    radix: Box<[u64]>,
    le: Box<[Box<str>]>,
    make: Box<dyn Fn() -> M + Send + Sync>,
    table: RwLock<Table<M>>,
}

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
        let mut radix = Vec::with_capacity(domains.len());
        let mut r: u64 = 1;
        for d in &domains {
            radix.push(r);
            r = r
                .checked_mul(d.len() as u64)
                .ok_or_else(|| MetricsError::TooManySeries(name.to_owned()))?;
        }
        let inner = Arc::new(FamilyInner {
            meta,
            domains: domains.into_boxed_slice(),
            radix: radix.into_boxed_slice(),
            le,
            make,
            table: RwLock::new(Table {
                index: HashMap::default(),
                entries: Vec::new(),
            }),
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
        self.inner.get_by_key(self.inner.key(values))
    }

    /// Number of series created so far.
    pub fn series_count(&self) -> usize {
        self.inner.read().entries.len()
    }

    /// The label domains, in label order.
    pub fn domains(&self) -> &[LabelDomain] {
        &self.inner.domains
    }

    /// The exported name (text format; counters end with `_total`).
    pub fn name(&self) -> String {
        self.inner.meta.text_name()
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
            for ((d, r), v) in self.domains.iter().zip(self.radix.iter()).zip(values) {
                key += u64::from(d.index_of(v)) * r;
            }
        } else {
            for (d, r) in self.domains.iter().zip(self.radix.iter()) {
                key += u64::from(d.fallback_index()) * r;
            }
        }
        key
    }

    #[inline]
    fn get_by_key(&self, key: u64) -> Arc<M> {
        {
            let t = self.read();
            if let Some(&i) = t.index.get(&key) {
                return Arc::clone(&t.entries[i as usize].metric);
            }
        }
        let mut t = self.table.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(&i) = t.index.get(&key) {
            return Arc::clone(&t.entries[i as usize].metric);
        }
        let labels =
            encoding::render_labels(self.domains.iter().zip(self.radix.iter()).map(|(d, r)| {
                let idx = (key / r) % d.len() as u64;
                (d.name(), d.value_at(idx as u32))
            }));
        let metric = Arc::new((self.make)());
        let i = t.entries.len() as u32;
        t.entries.push(Entry {
            labels,
            metric: Arc::clone(&metric),
        });
        t.index.insert(key, i);
        metric
    }
}

/// Something the registry can encode: a family, or a collector that reads its values at scrape
/// time (process metrics).
pub(crate) trait Collect: Send + Sync {
    /// Appends the family (header and samples) in `format`; nothing if it has no series.
    fn encode(&self, format: Format, scratch: &mut Vec<u64>, out: &mut Vec<u8>);
}

impl<M: Metric> Collect for FamilyInner<M> {
    fn encode(&self, format: Format, scratch: &mut Vec<u64>, out: &mut Vec<u8>) {
        let t = self.read();
        if t.entries.is_empty() {
            return;
        }
        encoding::write_header(&self.meta, format, out);
        let base = &*self.meta.base;
        for e in &t.entries {
            e.metric
                .write_series(base, &e.labels, &self.le, scratch, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
