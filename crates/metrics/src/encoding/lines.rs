//! The sample lines the text 0.0.4 and OpenMetrics formats share: `name{labels} value`, and a
//! histogram's `_bucket`/`_sum`/`_count` lines. Label text arrives rendered (once, when the
//! series was made), so writing a line only copies bytes and formats its number.

use super::numbers::{write_f64, write_u64};

/// Writes `name[suffix]{labels} ` (the part of a sample line before the value).
#[inline]
pub(crate) fn write_series_prefix(base: &str, suffix: &str, labels: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(base.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    if !labels.is_empty() {
        out.push(b'{');
        out.extend_from_slice(labels.as_bytes());
        out.push(b'}');
    }
    out.push(b' ');
}

/// A counter sample line.
#[inline]
pub(crate) fn write_counter_sample(base: &str, labels: &str, v: u64, out: &mut Vec<u8>) {
    write_series_prefix(base, "_total", labels, out);
    write_u64(v, out);
    out.push(b'\n');
}

/// A counter sample line with a fractional value (e.g. CPU seconds).
pub(crate) fn write_counter_sample_f64(base: &str, labels: &str, v: f64, out: &mut Vec<u8>) {
    write_series_prefix(base, "_total", labels, out);
    write_f64(v, out);
    out.push(b'\n');
}

/// A gauge sample line.
#[inline]
pub(crate) fn write_gauge_sample(base: &str, labels: &str, v: f64, out: &mut Vec<u8>) {
    write_series_prefix(base, "", labels, out);
    write_f64(v, out);
    out.push(b'\n');
}

/// `name_bucket{labels,le="bound"} count` (`+Inf` when `le` is `None`), before the line's
/// exemplar and newline; shared by the text and OpenMetrics histogram encoders.
#[inline]
pub(super) fn write_bucket_value(
    base: &str,
    labels: &str,
    le: Option<&str>,
    count: u64,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(base.as_bytes());
    out.extend_from_slice(b"_bucket{");
    if !labels.is_empty() {
        out.extend_from_slice(labels.as_bytes());
        out.push(b',');
    }
    out.extend_from_slice(b"le=\"");
    out.extend_from_slice(le.unwrap_or("+Inf").as_bytes());
    out.extend_from_slice(b"\"} ");
    write_u64(count, out);
}

/// A histogram's `_sum` and `_count` lines; shared by the text and OpenMetrics encoders.
#[inline]
pub(super) fn write_sum_and_count(
    base: &str,
    labels: &str,
    sum: f64,
    count: u64,
    out: &mut Vec<u8>,
) {
    write_series_prefix(base, "_sum", labels, out);
    write_f64(sum, out);
    out.push(b'\n');
    write_series_prefix(base, "_count", labels, out);
    write_u64(count, out);
    out.push(b'\n');
}

/// The sample lines of one histogram series from a cumulative snapshot (`cumulative.len() ==
/// le.len() + 1`, last = `+Inf` = count).
pub(crate) fn write_histogram_samples(
    base: &str,
    labels: &str,
    le: &[Box<str>],
    cumulative: &[u64],
    sum: f64,
    out: &mut Vec<u8>,
) {
    let count = cumulative.last().copied().unwrap_or(0);
    for (i, c) in cumulative.iter().enumerate() {
        write_bucket_value(base, labels, le.get(i).map(|l| &**l), *c, out);
        out.push(b'\n');
    }
    write_sum_and_count(base, labels, sum, count, out);
}
