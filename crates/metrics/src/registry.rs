//! The set of metrics one scrape encodes.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::encoding::{self, render_le, FamilyMeta, Format, Scratch};
use crate::family::{Collect, Metric};
use crate::metrics::histogram::validate_bounds;
use crate::metrics::NativeConfig;
use crate::process::ProcessCollector;
use crate::{Counter, Family, Gauge, Histogram, LabelDomain, MetricsError};

/// Holds families (and label-less metrics, which are families of one series) in registration
/// order, and encodes them all in one pass.
#[derive(Default)]
pub struct Registry {
    collectors: RwLock<Vec<Arc<dyn Collect>>>,
    names: Mutex<HashSet<String>>,
    /// Size of the previous exposition in each [`Format`], to reserve the buffer once: the
    /// formats differ in size by 2-3x, and a Prometheus with native histograms scrapes protobuf
    /// while a person's `curl` gets text.
    last_len: PerFormat<AtomicUsize>,
}

/// One `T` per [`Format`]; a new format does not compile until it has its own.
#[derive(Default)]
struct PerFormat<T> {
    text: T,
    openmetrics: T,
    protobuf: T,
}

impl<T> PerFormat<T> {
    fn get(&self, format: Format) -> &T {
        match format {
            Format::Text => &self.text,
            Format::OpenMetrics => &self.openmetrics,
            Format::Protobuf => &self.protobuf,
        }
    }
}

/// Is `name` a valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`)?
fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Registry").field("names", &*names).finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reserves the family's names (text name and OpenMetrics base name) or reports a clash.
    fn claim(&self, meta: &FamilyMeta) -> Result<(), MetricsError> {
        let text = meta.text_name();
        if !valid_metric_name(&text) {
            return Err(MetricsError::InvalidMetricName(text));
        }
        let mut names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        if names.contains(&text) || names.contains(&*meta.base) {
            return Err(MetricsError::Duplicate(text));
        }
        names.insert(meta.base.to_string());
        names.insert(text);
        Ok(())
    }

    pub(crate) fn add_collector(
        &self,
        metas: &[&FamilyMeta],
        c: Arc<dyn Collect>,
    ) -> Result<(), MetricsError> {
        for meta in metas {
            self.claim(meta)?;
        }
        self.collectors
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(c);
        Ok(())
    }

    fn add<M: Metric>(&self, family: Family<M>) -> Result<Family<M>, MetricsError> {
        self.add_collector(&[family.meta()], family.collector())?;
        Ok(family)
    }

    /// Registers a labelled counter family (`name` with or without the `_total` suffix).
    pub fn counter_family(
        &self,
        name: &str,
        help: &str,
        labels: Vec<LabelDomain>,
    ) -> Result<Family<Counter>, MetricsError> {
        self.add(Family::new(
            name,
            help,
            labels,
            Box::new([]),
            Box::new(Counter::new),
        )?)
    }

    /// Registers a labelled gauge family.
    pub fn gauge_family(
        &self,
        name: &str,
        help: &str,
        labels: Vec<LabelDomain>,
    ) -> Result<Family<Gauge>, MetricsError> {
        self.add(Family::new(
            name,
            help,
            labels,
            Box::new([]),
            Box::new(Gauge::new),
        )?)
    }

    /// Registers a labelled histogram family; every series shares `bounds`.
    pub fn histogram_family(
        &self,
        name: &str,
        help: &str,
        labels: Vec<LabelDomain>,
        bounds: &[f64],
    ) -> Result<Family<Histogram>, MetricsError> {
        self.add_histogram_family(name, help, labels, bounds, None)
    }

    /// Registers a labelled histogram family that is also a native histogram (protobuf
    /// scrapes); every series shares `bounds` for its classic buckets.
    pub fn histogram_family_native(
        &self,
        name: &str,
        help: &str,
        labels: Vec<LabelDomain>,
        bounds: &[f64],
        native: NativeConfig,
    ) -> Result<Family<Histogram>, MetricsError> {
        native.validate()?;
        self.add_histogram_family(name, help, labels, bounds, Some(native))
    }

    /// Both histogram families: validated bounds shared by every series, `le` text rendered
    /// once, native buckets when `native` (already validated) is set.
    fn add_histogram_family(
        &self,
        name: &str,
        help: &str,
        labels: Vec<LabelDomain>,
        bounds: &[f64],
        native: Option<NativeConfig>,
    ) -> Result<Family<Histogram>, MetricsError> {
        let bounds = validate_bounds(bounds)?;
        let le = bounds.iter().map(|b| render_le(*b)).collect();
        self.add(Family::new(
            name,
            help,
            labels,
            le,
            Box::new(move || Histogram::with_parts(Arc::clone(&bounds), native)),
        )?)
    }

    /// Registers a label-less histogram that is also a native histogram.
    pub fn histogram_native(
        &self,
        name: &str,
        help: &str,
        bounds: &[f64],
        native: NativeConfig,
    ) -> Result<Arc<Histogram>, MetricsError> {
        Ok(self
            .histogram_family_native(name, help, Vec::new(), bounds, native)?
            .get(&[]))
    }

    /// Registers a label-less counter (always exported, from 0).
    pub fn counter(&self, name: &str, help: &str) -> Result<Arc<Counter>, MetricsError> {
        Ok(self.counter_family(name, help, Vec::new())?.get(&[]))
    }

    /// Registers a label-less gauge (always exported).
    pub fn gauge(&self, name: &str, help: &str) -> Result<Arc<Gauge>, MetricsError> {
        Ok(self.gauge_family(name, help, Vec::new())?.get(&[]))
    }

    /// Registers a label-less histogram (always exported).
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        bounds: &[f64],
    ) -> Result<Arc<Histogram>, MetricsError> {
        Ok(self
            .histogram_family(name, help, Vec::new(), bounds)?
            .get(&[]))
    }

    /// Adds the process metrics (`process_*`, `zigquant_memory_bytes`, `zigquant_uptime_seconds`,
    /// `zigquant_threads`), read from `/proc/self` at every encode.
    pub fn register_process_metrics(&self) -> Result<(), MetricsError> {
        let pc = ProcessCollector::new();
        let metas: Vec<&FamilyMeta> = pc.metas().iter().collect();
        // Claim first (borrowing pc), then hand the collector over.
        for meta in &metas {
            self.claim(meta)?;
        }
        drop(metas);
        self.collectors
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::new(pc));
        Ok(())
    }

    /// Appends the whole exposition in `format` to `out` (`# EOF` included for OpenMetrics; a
    /// stream of length-delimited `MetricFamily` messages for protobuf).
    pub fn encode(&self, format: Format, out: &mut Vec<u8>) {
        let start = out.len();
        let last_len = self.last_len.get(format);
        let expected = last_len.load(Relaxed);
        out.reserve(expected + expected / 8);
        let mut scratch = Scratch::default();
        let collectors = self
            .collectors
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        for c in collectors.iter() {
            c.encode(format, &mut scratch, out);
        }
        encoding::write_trailer(format, out);
        last_len.store(out.len() - start, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_bad_names_are_errors() {
        let r = Registry::new();
        r.counter("a_total", "h").expect("first");
        assert!(matches!(
            r.counter("a", "h"),
            Err(MetricsError::Duplicate(_))
        ));
        assert!(matches!(r.gauge("a", "h"), Err(MetricsError::Duplicate(_))));
        assert!(matches!(
            r.gauge("1a", "h"),
            Err(MetricsError::InvalidMetricName(_))
        ));
        assert!(matches!(
            r.histogram("h", "h", &[]),
            Err(MetricsError::InvalidBuckets { .. })
        ));
    }

    fn seconds(ms: i64) -> String {
        let mut out = Vec::new();
        encoding::write_unix_ms_as_seconds(ms, &mut out);
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn text_and_openmetrics_counter_naming() {
        let r = Registry::new();
        let c = r.counter("jobs_total", "Jobs done.").expect("c");
        c.inc_by(3);
        let mut t = Vec::new();
        r.encode(Format::Text, &mut t);
        assert_eq!(
            String::from_utf8(t).expect("utf8"),
            "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 3\n"
        );
        let mut o = Vec::new();
        r.encode(Format::OpenMetrics, &mut o);
        assert_eq!(
            String::from_utf8(o).expect("utf8"),
            format!(
                "# TYPE jobs counter\n# HELP jobs Jobs done.\njobs_total 3\njobs_created {}\n# EOF\n",
                seconds(c.created_ms())
            )
        );
    }

    #[test]
    fn histogram_exposition() {
        let r = Registry::new();
        let h = r
            .histogram_family(
                "lat_seconds",
                "Latency.",
                vec![LabelDomain::new("m", ["GET"], "OTHER")],
                &[0.1, 1.0],
            )
            .expect("h");
        h.get(&["GET"]).observe(0.05);
        h.get(&["GET"]).observe(0.5);
        h.get(&["GET"]).observe(5.0);
        let mut o = Vec::new();
        r.encode(Format::OpenMetrics, &mut o);
        assert_eq!(
            String::from_utf8(o).expect("utf8"),
            format!("# TYPE lat_seconds histogram\n# UNIT lat_seconds seconds\n# HELP lat_seconds Latency.\n\
             lat_seconds_bucket{{m=\"GET\",le=\"0.1\"}} 1\nlat_seconds_bucket{{m=\"GET\",le=\"1\"}} 2\n\
             lat_seconds_bucket{{m=\"GET\",le=\"+Inf\"}} 3\nlat_seconds_sum{{m=\"GET\"}} 5.55\n\
             lat_seconds_count{{m=\"GET\"}} 3\nlat_seconds_created{{m=\"GET\"}} {}\n# EOF\n",
            seconds(h.get(&["GET"]).created_ms()))
        );
    }
}
