//! The sample lines the text 0.0.4 and OpenMetrics formats share: `name{labels} value`, and a
//! histogram's `_bucket`/`_sum`/`_count` lines. Label text arrives rendered (once, when the
//! series was made) and a family's line beginnings are rendered once too ([`SampleHeads`]), so
//! writing a line copies a few slices and formats its number.

use super::numbers::{write_f64, write_u64, write_u64_line};
use super::prefetch;

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

/// A family's sample-line beginnings (`name_total{`, `name{`, `name_bucket{`, `name_sum{`,
/// `name_count{`) and each bucket's ending (`le="0.25"} `, `+Inf` last), rendered once when the
/// family is made, so a line is a few copies instead of one per name part.
#[derive(Debug)]
#[doc(hidden)]
pub struct SampleHeads {
    total: Box<[u8]>,
    plain: Box<[u8]>,
    bucket: Box<[u8]>,
    sum: Box<[u8]>,
    count: Box<[u8]>,
    le_tails: Box<[LeTail]>,
}

/// Longest bucket ending written as one fixed-size copy.
const TAIL_FIXED: usize = 16;

/// A bucket's `le="…"} `, also zero-padded to [`TAIL_FIXED`] bytes when it fits, so the usual
/// one is appended as a constant-size copy and the padding cut off.
#[derive(Debug)]
struct LeTail {
    text: Box<[u8]>,
    fixed: Option<[u8; TAIL_FIXED]>,
}

impl LeTail {
    fn new(le: &str) -> Self {
        let text = format!("le=\"{le}\"}} ").into_bytes();
        let fixed = (text.len() <= TAIL_FIXED).then(|| {
            let mut f = [0u8; TAIL_FIXED];
            f[..text.len()].copy_from_slice(&text);
            f
        });
        Self {
            text: text.into_boxed_slice(),
            fixed,
        }
    }

    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        match &self.fixed {
            Some(f) => {
                let end = out.len() + self.text.len();
                out.extend_from_slice(f);
                out.truncate(end);
            }
            None => out.extend_from_slice(&self.text),
        }
    }
}

impl SampleHeads {
    /// The heads of family `base` (without `_total`) whose buckets have these `le` values.
    pub(crate) fn new(base: &str, le: &[Box<str>]) -> Self {
        let open = |suffix: &str| format!("{base}{suffix}{{").into_bytes().into_boxed_slice();
        let tail = LeTail::new;
        Self {
            total: open("_total"),
            plain: open(""),
            bucket: open("_bucket"),
            sum: open("_sum"),
            count: open("_count"),
            le_tails: le.iter().map(|l| tail(l)).chain([tail("+Inf")]).collect(),
        }
    }
}

/// Writes `open` (a head ending in `{`), the labels and `} `, or without labels `open` minus its
/// `{` and a space: the part of a sample line before the value.
#[inline]
fn write_head(open: &[u8], labels: &str, out: &mut Vec<u8>) {
    prefetch::output_ahead(out);
    if labels.is_empty() {
        out.extend_from_slice(open.split_last().map_or(open, |(_, name)| name));
        out.push(b' ');
    } else {
        out.extend_from_slice(open);
        out.extend_from_slice(labels.as_bytes());
        out.extend_from_slice(b"} ");
    }
}

/// `name_total{labels} ` (a counter sample before its value).
#[inline]
pub(crate) fn write_counter_head(heads: &SampleHeads, labels: &str, out: &mut Vec<u8>) {
    write_head(&heads.total, labels, out);
}

/// A counter sample line.
#[inline]
pub(crate) fn write_counter_line(heads: &SampleHeads, labels: &str, v: u64, out: &mut Vec<u8>) {
    write_head(&heads.total, labels, out);
    write_u64_line(v, out);
}

/// A gauge sample line.
#[inline]
pub(crate) fn write_gauge_line(heads: &SampleHeads, labels: &str, v: f64, out: &mut Vec<u8>) {
    write_head(&heads.plain, labels, out);
    write_f64(v, out);
    out.push(b'\n');
}

/// The `_bucket` lines of one histogram series from its cumulative counts (`+Inf` last), each
/// followed by what `after` (if any) writes for bucket `i` (an OpenMetrics exemplar) and a newline. The
/// line beginning `name_bucket{labels,` is written once and copied for the other buckets.
#[inline]
pub(crate) fn write_bucket_lines(
    heads: &SampleHeads,
    labels: &str,
    cumulative: &[u64],
    out: &mut Vec<u8>,
    mut after: Option<impl FnMut(usize, &mut Vec<u8>)>,
) {
    if cumulative.is_empty() {
        return;
    }
    let start = out.len();
    prefetch::output_ahead(out);
    out.extend_from_slice(&heads.bucket);
    if !labels.is_empty() {
        out.extend_from_slice(labels.as_bytes());
        out.push(b',');
    }
    let end = out.len();
    for (i, (c, tail)) in cumulative.iter().zip(heads.le_tails.iter()).enumerate() {
        if i > 0 {
            prefetch::output_ahead(out);
            out.extend_from_within(start..end);
        }
        tail.write(out);
        match after.as_mut() {
            Some(after) => {
                write_u64(*c, out);
                after(i, out);
                out.push(b'\n');
            }
            None => write_u64_line(*c, out),
        }
    }
}

/// A histogram's `_sum` and `_count` lines; shared by the text and OpenMetrics encoders.
#[inline]
pub(crate) fn write_sum_and_count(
    heads: &SampleHeads,
    labels: &str,
    sum: f64,
    count: u64,
    out: &mut Vec<u8>,
) {
    write_head(&heads.sum, labels, out);
    write_f64(sum, out);
    out.push(b'\n');
    write_head(&heads.count, labels, out);
    write_u64_line(count, out);
}

/// The sample lines of one histogram series from a cumulative snapshot (`+Inf` last, equal to
/// the count).
#[inline]
pub(crate) fn write_histogram_lines(
    heads: &SampleHeads,
    labels: &str,
    cumulative: &[u64],
    sum: f64,
    out: &mut Vec<u8>,
) {
    write_bucket_lines(
        heads,
        labels,
        cumulative,
        out,
        None::<fn(usize, &mut Vec<u8>)>,
    );
    let count = cumulative.last().copied().unwrap_or(0);
    write_sum_and_count(heads, labels, sum, count, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(le: &[&str], labels: &str, cumulative: &[u64]) -> String {
        let le: Vec<Box<str>> = le.iter().map(|l| (*l).into()).collect();
        let heads = SampleHeads::new("h", &le);
        let mut out = Vec::new();
        write_histogram_lines(&heads, labels, cumulative, 1.5, &mut out);
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn bucket_endings_short_and_long_are_written_whole() {
        // `le="0.1"} ` takes the fixed-size copy, the long bound the plain one.
        let text = histogram(&["0.1", "0.123456789012345"], "a=\"x\"", &[1, 12, 345]);
        assert_eq!(
            text,
            "h_bucket{a=\"x\",le=\"0.1\"} 1\n\
             h_bucket{a=\"x\",le=\"0.123456789012345\"} 12\n\
             h_bucket{a=\"x\",le=\"+Inf\"} 345\n\
             h_sum{a=\"x\"} 1.5\n\
             h_count{a=\"x\"} 345\n"
        );
        let bare = histogram(&["1"], "", &[0, 1000]);
        assert_eq!(
            bare,
            "h_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 1000\nh_sum 1.5\nh_count 1000\n"
        );
    }
}
