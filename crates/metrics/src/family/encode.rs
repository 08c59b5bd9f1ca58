//! How a family is written into a scrape: the encoder's view of each metric type (the sealed
//! [`Metric`] trait) and the [`Collect`] impl that walks a family's series in one format. The
//! family itself (lookup, bounded series creation) is in the parent module.

use std::sync::atomic::Ordering::Relaxed;

use super::FamilyInner;
use crate::encoding::{self, protobuf, Format, MetricType, SampleHeads, Scratch};
use crate::{Counter, Gauge, Histogram};

/// A metric type a [`Family`] can hold: [`Counter`], [`Gauge`] or [`Histogram`]. Sealed: the
/// encoders know exactly these three.
pub trait Metric: sealed::Sealed {}

/// What the encoders need of one series besides the metric.
#[doc(hidden)]
pub struct SeriesText<'a> {
    /// Family name without `_total`.
    pub base: &'a str,
    /// Rendered label text (`a="x",b="y"`).
    pub labels: &'a str,
    /// The family's rendered line beginnings and bucket endings.
    pub heads: &'a SampleHeads,
    /// Whether `_created` is written (OpenMetrics).
    pub created: bool,
}

pub(crate) mod sealed {
    use super::SeriesText;
    use crate::encoding::{Format, MetricType, Scratch};

    /// The encoder's view of a metric type.
    pub trait Sealed: Send + Sync + Sized + 'static {
        /// Its Prometheus type.
        const TYPE: MetricType;
        /// Appends the sample line(s) of one series in a text format.
        fn write_series(
            &self,
            format: Format,
            series: &SeriesText<'_>,
            scratch: &mut Scratch,
            out: &mut Vec<u8>,
        );
        /// Appends one `Metric` message (protobuf) with these encoded label pairs.
        fn write_proto(
            &self,
            labels: &[u8],
            created: bool,
            scratch: &mut Scratch,
            out: &mut Vec<u8>,
        );
    }
}

impl Metric for Counter {}
impl sealed::Sealed for Counter {
    const TYPE: MetricType = MetricType::Counter;
    #[inline]
    fn write_series(&self, format: Format, s: &SeriesText<'_>, _: &mut Scratch, out: &mut Vec<u8>) {
        if format == Format::Text {
            encoding::write_counter_line(s.heads, s.labels, self.get(), out);
        } else {
            let created = s.created.then(|| self.created_ms());
            let names = (s.heads, s.base, s.labels);
            encoding::write_om_counter(names, self.get(), self.exemplar_cell(), created, out);
        }
    }
    #[inline]
    fn write_proto(&self, labels: &[u8], created: bool, _: &mut Scratch, out: &mut Vec<u8>) {
        let created = created.then(|| self.created_ms());
        protobuf::write_counter(
            labels,
            self.get() as f64,
            self.exemplar_cell(),
            created,
            out,
        );
    }
}

impl Metric for Gauge {}
impl sealed::Sealed for Gauge {
    const TYPE: MetricType = MetricType::Gauge;
    #[inline]
    fn write_series(&self, _: Format, s: &SeriesText<'_>, _: &mut Scratch, out: &mut Vec<u8>) {
        encoding::write_gauge_line(s.heads, s.labels, self.get(), out);
    }
    #[inline]
    fn write_proto(&self, labels: &[u8], _: bool, _: &mut Scratch, out: &mut Vec<u8>) {
        protobuf::write_gauge(labels, self.get(), out);
    }
}

impl Metric for Histogram {}
impl sealed::Sealed for Histogram {
    const TYPE: MetricType = MetricType::Histogram;
    #[inline]
    fn write_series(
        &self,
        format: Format,
        s: &SeriesText<'_>,
        scratch: &mut Scratch,
        out: &mut Vec<u8>,
    ) {
        let sum = self.snapshot_into(&mut scratch.cumulative);
        if format == Format::Text {
            encoding::write_histogram_lines(s.heads, s.labels, &scratch.cumulative, sum, out);
        } else {
            encoding::write_om_histogram(
                (s.heads, s.base, s.labels),
                (&scratch.cumulative, sum),
                (self.exemplar_cells(), s.created.then(|| self.created_ms())),
                out,
            );
        }
    }
    fn write_proto(&self, labels: &[u8], created: bool, scratch: &mut Scratch, out: &mut Vec<u8>) {
        // Native first: the count read after it is never below the native buckets' total.
        let native = self.native_snapshot_into(&mut scratch.native);
        let sum = self.snapshot_into(&mut scratch.cumulative);
        let parts = protobuf::HistogramParts {
            bounds: self.bounds(),
            cumulative: &scratch.cumulative,
            sum,
            exemplars: self.exemplar_cells(),
            native: native.then_some(&scratch.native),
            created_ms: created.then(|| self.created_ms()),
        };
        protobuf::write_histogram(labels, &parts, out);
    }
}

/// Something the registry can encode: a family, or a collector that reads its values at scrape
/// time (process metrics).
pub(crate) trait Collect: Send + Sync {
    /// Appends the family (header and samples) in `format`; nothing if it has no series.
    fn encode(&self, format: Format, scratch: &mut Scratch, out: &mut Vec<u8>);
}

impl<M: Metric> FamilyInner<M> {
    /// The protobuf label pairs of a series, from its key.
    fn encode_labels_pb(&self, key: u64) -> Box<[u8]> {
        protobuf::label_pairs(
            self.domains
                .iter()
                .enumerate()
                .map(|(i, d)| (d.name(), d.value_at(self.index_in(key, i)))),
        )
    }
}

impl<M: Metric> Collect for FamilyInner<M> {
    fn encode(&self, format: Format, scratch: &mut Scratch, out: &mut Vec<u8>) {
        let t = self.read();
        if t.series.is_empty() {
            return;
        }
        let created = self.created.load(Relaxed);
        if format == Format::Protobuf {
            let guess = self.pb_prefix.load(Relaxed);
            let used = protobuf::write_family(&self.meta, guess, out, |out| {
                for (s, c) in t.series.iter().zip(&t.cold) {
                    let labels = c.labels_pb.get_or_init(|| self.encode_labels_pb(c.key));
                    s.metric.write_proto(labels, created, scratch, out);
                }
            });
            self.pb_prefix.store(used, Relaxed);
            return;
        }
        encoding::write_header(&self.meta, format, out);
        let base = &*self.meta.base;
        let mut labels = t.labels();
        for s in &t.series {
            let series = SeriesText {
                base,
                labels: labels.next_of(s),
                heads: &self.heads,
                created,
            };
            s.metric.write_series(format, &series, scratch, out);
        }
    }
}
