//! The Prometheus protobuf exposition: a stream of `io.prometheus.client.MetricFamily` messages,
//! each preceded by its length as a varint (`encoding=delimited`), which Prometheus asks for
//! when native histograms are enabled (only this format carries them).
//!
//! The messages are written straight from the metric cells into the output buffer: no message
//! structs, no per-sample allocation, label pairs encoded once per series. The field numbers
//! below are those of the vendored official `proto/io/prometheus/client/metrics.proto`; the
//! tests decode every scrape with the prost types generated from that file ([`crate::proto`])
//! and compare it field by field with the registry, and check the length equals prost's own
//! encoding of the decoded message, so a wrong number, wire type or length cannot go unnoticed.
//!
//! Field presence follows proto2 as client_golang writes it: every scalar the metric has is
//! written, zero or not; repeated numbers are not packed (proto2's default); a nested message's
//! length is backpatched after it is written (see [`open`]).

use super::{prefetch, FamilyMeta, MetricType};
use crate::metrics::exemplar::{ExemplarCell, ExemplarData};
use crate::metrics::native::{NativeSnapshot, ZERO_THRESHOLD};

/// Wire type of varints.
const VARINT: u32 = 0;
/// Wire type of doubles.
const FIXED64: u32 = 1;
/// Wire type of strings and nested messages.
const LEN: u32 = 2;

/// `MetricFamily` fields.
mod family {
    pub const NAME: u32 = 1;
    pub const HELP: u32 = 2;
    pub const TYPE: u32 = 3;
    pub const METRIC: u32 = 4;
    pub const UNIT: u32 = 5;
}
/// `Metric` fields.
mod metric {
    pub const LABEL: u32 = 1;
    pub const GAUGE: u32 = 2;
    pub const COUNTER: u32 = 3;
    pub const HISTOGRAM: u32 = 7;
}
/// `MetricType` values.
mod metric_type {
    pub const COUNTER: u64 = 0;
    pub const GAUGE: u64 = 1;
    pub const HISTOGRAM: u64 = 4;
}
/// `Histogram` fields.
mod histogram {
    pub const SAMPLE_COUNT: u32 = 1;
    pub const SAMPLE_SUM: u32 = 2;
    pub const BUCKET: u32 = 3;
    pub const SCHEMA: u32 = 5;
    pub const ZERO_THRESHOLD: u32 = 6;
    pub const ZERO_COUNT: u32 = 7;
    pub const NEGATIVE_SPAN: u32 = 9;
    pub const NEGATIVE_DELTA: u32 = 10;
    pub const POSITIVE_SPAN: u32 = 12;
    pub const POSITIVE_DELTA: u32 = 13;
    pub const CREATED_TIMESTAMP: u32 = 15;
}

/// Appends `v` as a base-128 varint.
#[inline]
pub(crate) fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[inline]
fn varint_len(v: u64) -> usize {
    // 1 byte per started 7 bits, at least one.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

#[inline]
fn key(field: u32, wire: u32, out: &mut Vec<u8>) {
    varint(u64::from(field << 3 | wire), out);
}

#[inline]
fn zigzag32(v: i32) -> u64 {
    u64::from(((v << 1) ^ (v >> 31)) as u32)
}

#[inline]
fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
fn double(field: u32, v: f64, out: &mut Vec<u8>) {
    key(field, FIXED64, out);
    out.extend_from_slice(&v.to_le_bytes());
}

#[inline]
fn uint(field: u32, v: u64, out: &mut Vec<u8>) {
    key(field, VARINT, out);
    varint(v, out);
}

#[inline]
fn bytes(field: u32, v: &[u8], out: &mut Vec<u8>) {
    key(field, LEN, out);
    varint(v.len() as u64, out);
    out.extend_from_slice(v);
}

/// Starts a nested message of `field`: writes its key and reserves `guess` bytes for its
/// length, returning where the body starts. [`close`] writes the length and moves the body if
/// the guess was wrong (a guess from the last scrape makes that rare for big messages).
#[inline]
fn open(field: u32, guess: usize, out: &mut Vec<u8>) -> (usize, usize) {
    key(field, LEN, out);
    let guess = guess.max(1);
    out.resize(out.len() + guess, 0);
    (out.len(), guess)
}

/// Ends the message [`open`] started.
#[inline]
fn close((start, reserved): (usize, usize), out: &mut Vec<u8>) {
    let len = out.len() - start;
    let need = varint_len(len as u64);
    if need != reserved {
        let end = out.len();
        if need > reserved {
            out.resize(end + need - reserved, 0);
            out.copy_within(start..end, start + need - reserved);
        } else {
            out.copy_within(start..end, start - reserved + need);
            out.truncate(end - reserved + need);
        }
    }
    let at = start - reserved;
    let mut v = len as u64;
    for i in 0..need {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        out[at + i] = if i + 1 < need { b | 0x80 } else { b };
    }
}

/// The `label` fields of a `Metric` for these label pairs (written once per series).
pub(crate) fn label_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Box<[u8]> {
    let mut out = Vec::new();
    for (name, value) in pairs {
        write_label_pair(metric::LABEL, name, value, &mut out);
    }
    out.into_boxed_slice()
}

fn write_label_pair(field: u32, name: &str, value: &str, out: &mut Vec<u8>) {
    let body = 2 + varint_len(name.len() as u64) + name.len() + varint_len(value.len() as u64);
    key(field, LEN, out);
    varint((body + value.len()) as u64, out);
    bytes(1, name.as_bytes(), out);
    bytes(2, value.as_bytes(), out);
}

/// A `google.protobuf.Timestamp` field from Unix milliseconds (zero fields omitted, as prost
/// and the Go runtime write them).
fn timestamp(field: u32, unix_ms: i64, out: &mut Vec<u8>) {
    let seconds = unix_ms.div_euclid(1000);
    let nanos = (unix_ms.rem_euclid(1000) * 1_000_000) as u64;
    let mut len = 0;
    if seconds != 0 {
        len += 1 + varint_len(seconds as u64);
    }
    if nanos != 0 {
        len += 1 + varint_len(nanos);
    }
    key(field, LEN, out);
    varint(len as u64, out);
    if seconds != 0 {
        uint(1, seconds as u64, out);
    }
    if nanos != 0 {
        uint(2, nanos, out);
    }
}

fn exemplar(field: u32, e: &ExemplarData, out: &mut Vec<u8>) {
    let at = open(field, 1, out);
    for (name, value) in &e.labels {
        write_label_pair(1, name, value, out);
    }
    double(2, e.value, out);
    timestamp(3, e.timestamp_ms, out);
    close(at, out);
}

fn cell_exemplar(field: u32, cell: Option<&ExemplarCell>, out: &mut Vec<u8>) {
    if let Some(cell) = cell {
        cell.with(|e| exemplar(field, e, out));
    }
}

/// Writes one `MetricFamily` (length-delimited), its metrics written by `metrics`. `guess` is
/// the size of the family's length prefix last time; the return value is this time's.
pub(crate) fn write_family(
    meta: &FamilyMeta,
    guess: usize,
    out: &mut Vec<u8>,
    metrics: impl FnOnce(&mut Vec<u8>),
) -> usize {
    let start = out.len();
    out.resize(start + guess.max(1), 0);
    let body = out.len();
    let name = meta.text_name();
    bytes(family::NAME, name.as_bytes(), out);
    bytes(family::HELP, meta.help.as_bytes(), out);
    let kind = match meta.kind {
        MetricType::Counter => metric_type::COUNTER,
        MetricType::Gauge => metric_type::GAUGE,
        MetricType::Histogram => metric_type::HISTOGRAM,
    };
    uint(family::TYPE, kind, out);
    metrics(out);
    if let Some(unit) = meta.unit {
        bytes(family::UNIT, unit.as_bytes(), out);
    }
    // The family's own length prefix has no key: same backpatch as a nested message.
    let reserved = body - start;
    close((body, reserved), out);
    varint_len((out.len() - start - reserved) as u64)
}

/// One gauge `Metric`.
#[inline]
pub(crate) fn write_gauge(labels: &[u8], v: f64, out: &mut Vec<u8>) {
    prefetch::output_ahead(out);
    key(family::METRIC, LEN, out);
    varint((labels.len() + 11) as u64, out);
    out.extend_from_slice(labels);
    // Gauge { value } is 9 bytes.
    key(metric::GAUGE, LEN, out);
    out.push(9);
    double(1, v, out);
}

/// One counter `Metric`: value, exemplar, created timestamp.
#[inline]
pub(crate) fn write_counter(
    labels: &[u8],
    v: f64,
    exemplar: Option<&ExemplarCell>,
    created_ms: Option<i64>,
    out: &mut Vec<u8>,
) {
    prefetch::output_ahead(out);
    let m = open(family::METRIC, 1 + usize::from(labels.len() > 100), out);
    out.extend_from_slice(labels);
    let c = open(metric::COUNTER, 1, out);
    double(1, v, out);
    cell_exemplar(2, exemplar, out);
    if let Some(ms) = created_ms {
        timestamp(3, ms, out);
    }
    close(c, out);
    close(m, out);
}

/// What a histogram `Metric` is made of.
pub(crate) struct HistogramParts<'a> {
    pub bounds: &'a [f64],
    /// Cumulative counts per bound, then `+Inf` (= count).
    pub cumulative: &'a [u64],
    pub sum: f64,
    pub exemplars: Option<&'a [ExemplarCell]>,
    pub native: Option<&'a NativeSnapshot>,
    pub created_ms: Option<i64>,
}

/// One histogram `Metric`: classic buckets (with exemplars), native buckets when present.
pub(crate) fn write_histogram(labels: &[u8], h: &HistogramParts<'_>, out: &mut Vec<u8>) {
    prefetch::output_ahead(out);
    let m = open(family::METRIC, 2, out);
    out.extend_from_slice(labels);
    let hm = open(metric::HISTOGRAM, 2, out);
    let count = h.cumulative.last().copied().unwrap_or(0);
    uint(histogram::SAMPLE_COUNT, count, out);
    double(histogram::SAMPLE_SUM, h.sum, out);
    for (i, bound) in h.bounds.iter().enumerate() {
        if i % 4 == 0 {
            prefetch::output_ahead(out);
        }
        let b = open(histogram::BUCKET, 1, out);
        uint(1, h.cumulative.get(i).copied().unwrap_or(count), out);
        double(2, *bound, out);
        cell_exemplar(3, h.exemplars.and_then(|e| e.get(i)), out);
        close(b, out);
    }
    // The +Inf bucket is implied by the count; its exemplar still has a place to go.
    if let Some(cell) = h.exemplars.and_then(|e| e.get(h.bounds.len())) {
        if cell.with(|_| ()).is_some() {
            let b = open(histogram::BUCKET, 1, out);
            uint(1, count, out);
            double(2, f64::INFINITY, out);
            cell_exemplar(3, Some(cell), out);
            close(b, out);
        }
    }
    if let Some(n) = h.native {
        uint(histogram::SCHEMA, zigzag32(n.schema), out);
        double(histogram::ZERO_THRESHOLD, ZERO_THRESHOLD, out);
        uint(histogram::ZERO_COUNT, n.zero_count, out);
        write_native_side(
            histogram::NEGATIVE_SPAN,
            histogram::NEGATIVE_DELTA,
            &n.negative,
            false,
            out,
        );
        // No observation yet: a no-op span tells Prometheus this is a native histogram.
        let empty = n.positive.is_empty() && n.negative.is_empty() && n.zero_count == 0;
        write_native_side(
            histogram::POSITIVE_SPAN,
            histogram::POSITIVE_DELTA,
            &n.positive,
            empty,
            out,
        );
    }
    if let Some(ms) = h.created_ms {
        timestamp(histogram::CREATED_TIMESTAMP, ms, out);
    }
    close(hm, out);
    close(m, out);
}

/// Spans (runs of consecutive indexes) and count deltas of one side of a native histogram.
fn write_native_side(
    span_field: u32,
    delta_field: u32,
    buckets: &[(i32, u64)],
    noop_span: bool,
    out: &mut Vec<u8>,
) {
    if noop_span {
        // BucketSpan { offset: 0, length: 0 }
        key(span_field, LEN, out);
        out.extend_from_slice(&[4, 8, 0, 16, 0]);
    }
    let mut i = 0;
    let mut prev_end: Option<i32> = None;
    while i < buckets.len() {
        let start = buckets[i].0;
        let mut len = 1;
        while i + len < buckets.len() && buckets[i + len].0 == start + len as i32 {
            len += 1;
        }
        let offset = match prev_end {
            None => start,
            Some(end) => start - end,
        };
        let (o, l) = (zigzag32(offset), len as u64);
        key(span_field, LEN, out);
        varint((2 + varint_len(o) + varint_len(l)) as u64, out);
        uint(1, o, out);
        uint(2, l, out);
        prev_end = Some(start + len as i32);
        i += len;
    }
    let mut prev = 0i64;
    for (_, c) in buckets {
        let c = *c as i64;
        uint(delta_field, zigzag64(c - prev), out);
        prev = c;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_backpatched_lengths() {
        for v in [0u64, 1, 127, 128, 300, 16_383, 16_384, u64::MAX] {
            let mut out = Vec::new();
            varint(v, &mut out);
            assert_eq!(out.len(), varint_len(v), "{v}");
        }
        for (len, guess) in [(5usize, 1usize), (200, 1), (70_000, 1), (5, 3), (200, 3)] {
            let mut out = vec![0xAA];
            let at = open(4, guess, &mut out);
            out.extend(std::iter::repeat_n(7u8, len));
            close(at, &mut out);
            let mut expect = vec![0xAA, 4 << 3 | 2];
            varint(len as u64, &mut expect);
            expect.extend(std::iter::repeat_n(7u8, len));
            assert_eq!(out, expect, "len {len} guess {guess}");
        }
    }

    #[test]
    fn zigzag() {
        assert_eq!(zigzag32(0), 0);
        assert_eq!(zigzag32(-1), 1);
        assert_eq!(zigzag32(1), 2);
        assert_eq!(zigzag64(-2), 3);
    }
}
