//! How metrics are written: the Prometheus text format 0.0.4 ([`text`]), OpenMetrics 1.0.0
//! ([`openmetrics`]) and the Prometheus protobuf format ([`protobuf`]), and the `Accept`
//! negotiation between them.
//!
//! The two text formats share the sample lines; they differ in the family header (counter
//! names, `# UNIT`, HELP escaping), the trailing `# EOF`, and what only OpenMetrics carries
//! (exemplars, `_created`). Everything here appends to a `Vec<u8>` without allocating per
//! sample: label text is rendered once when a series is created. The shared sample lines are in
//! `lines`, the number spelling in `numbers`; this file holds negotiation, family metadata and
//! label escaping.

mod lines;
mod numbers;
pub mod openmetrics;
mod prefetch;
pub mod protobuf;
pub mod text;

pub use lines::SampleHeads;
pub(crate) use lines::{
    write_counter_line, write_counter_sample_f64, write_gauge_line, write_gauge_sample,
    write_histogram_lines,
};
#[cfg(test)]
pub(crate) use numbers::write_unix_ms_as_seconds;
pub use numbers::{write_f64, write_u64};
pub(crate) use openmetrics::{write_om_counter, write_om_histogram};

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text format 0.0.4, the default.
    Text,
    /// OpenMetrics 1.0.0, when the scraper asks for it.
    OpenMetrics,
    /// Prometheus protobuf (length-delimited `io.prometheus.client.MetricFamily`), when the
    /// scraper prefers it, as Prometheus does with native histograms enabled. The only format
    /// with native histograms.
    Protobuf,
}

/// The media type (without parameters) of the protobuf format.
const PROTOBUF_MEDIA: &str = "application/vnd.google.protobuf";

impl Format {
    /// The `Content-Type` header value of this format.
    pub fn content_type(&self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Protobuf => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
            }
        }
    }

    /// Picks the format from an HTTP `Accept` header, honouring q-values: protobuf when the
    /// client explicitly asks for `application/vnd.google.protobuf` with
    /// `proto=io.prometheus.client.MetricFamily` and `encoding=delimited` at least as strongly
    /// as for anything else; else OpenMetrics when the client explicitly asks for
    /// `application/openmetrics-text` at least as strongly as for anything that matches
    /// `text/plain` (as Prometheus 2.x does); Text otherwise, including for an absent or
    /// unparseable header.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut om_q: f32 = 0.0;
        let mut text_q: f32 = 0.0;
        let mut pb_q: f32 = 0.0;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut q: f32 = 1.0;
            let (mut proto_ok, mut delimited) = (false, false);
            for p in parts {
                if let Some((k, v)) = p.split_once('=') {
                    let (k, v) = (k.trim(), v.trim().trim_matches('"'));
                    if k.eq_ignore_ascii_case("q") {
                        q = match v.parse::<f32>() {
                            Ok(x) if (0.0..=1.0).contains(&x) => x,
                            _ => 0.0,
                        };
                    } else if k.eq_ignore_ascii_case("proto") {
                        proto_ok = v == "io.prometheus.client.MetricFamily";
                    } else if k.eq_ignore_ascii_case("encoding") {
                        delimited = v.eq_ignore_ascii_case("delimited");
                    }
                }
            }
            match media.as_str() {
                "application/openmetrics-text" => om_q = om_q.max(q),
                "text/plain" | "text/*" | "*/*" => text_q = text_q.max(q),
                PROTOBUF_MEDIA if proto_ok && delimited => pb_q = pb_q.max(q),
                _ => {}
            }
        }
        if pb_q > 0.0 && pb_q >= om_q && pb_q >= text_q {
            Format::Protobuf
        } else if om_q > 0.0 && om_q >= text_q {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

/// Buffers one scrape reuses for every histogram.
#[derive(Default)]
#[doc(hidden)]
pub struct Scratch {
    /// Cumulative classic bucket counts.
    pub cumulative: Vec<u64>,
    /// Native buckets.
    pub native: crate::metrics::NativeSnapshot,
}

/// The Prometheus type of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    /// Monotonic counter.
    Counter,
    /// Gauge.
    Gauge,
    /// Cumulative histogram.
    Histogram,
}

impl MetricType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        }
    }
}

/// What a family header needs: names, help, type, unit.
#[derive(Debug)]
pub(crate) struct FamilyMeta {
    /// Family name without `_total` (counters) — the OpenMetrics family name.
    pub base: Box<str>,
    pub help: Box<str>,
    pub kind: MetricType,
    /// `seconds` / `bytes` when the name ends with that unit.
    pub unit: Option<&'static str>,
}

impl FamilyMeta {
    pub(crate) fn new(name: &str, help: &str, kind: MetricType) -> Self {
        let base = if kind == MetricType::Counter {
            name.strip_suffix("_total").unwrap_or(name)
        } else {
            name
        };
        let unit = ["seconds", "bytes"].into_iter().find(|u| {
            base.len() > u.len() + 1
                && base.ends_with(u)
                && base[..base.len() - u.len()].ends_with('_')
        });
        Self {
            base: base.into(),
            help: help.into(),
            kind,
            unit,
        }
    }

    /// The name under which the family is exported in the text format (and registered).
    pub(crate) fn text_name(&self) -> String {
        match self.kind {
            MetricType::Counter => format!("{}_total", self.base),
            _ => self.base.to_string(),
        }
    }
}

/// Writes the family header in `format`.
pub(crate) fn write_header(meta: &FamilyMeta, format: Format, out: &mut Vec<u8>) {
    match format {
        Format::Text => text::write_header(meta, out),
        Format::OpenMetrics => openmetrics::write_header(meta, out),
        // Protobuf families are written whole by `protobuf::write_family`.
        Format::Protobuf => {}
    }
}

/// Writes what ends an exposition in `format`.
pub(crate) fn write_trailer(format: Format, out: &mut Vec<u8>) {
    if format == Format::OpenMetrics {
        out.extend_from_slice(b"# EOF\n");
    }
}

/// Appends `v` escaped as a label value (`\\`, `\"`, `\n`); other bytes, UTF-8 included, as is.
pub fn escape_label_value(v: &str, out: &mut Vec<u8>) {
    let bytes = v.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let rep: &[u8] = match b {
            b'\\' => b"\\\\",
            b'"' => b"\\\"",
            b'\n' => b"\\n",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(rep);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends HELP text escaped: `\\` and `\n` always, `\"` too when `quote` (OpenMetrics).
pub(crate) fn escape_help(v: &str, quote: bool, out: &mut Vec<u8>) {
    for &b in v.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'"' if quote => out.extend_from_slice(b"\\\""),
            _ => out.push(b),
        }
    }
}

/// Appends `name="value",...` (values escaped): a series' label text, or an exemplar's.
pub(crate) fn write_label_pairs<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    out: &mut Vec<u8>,
) {
    for (i, (name, value)) in pairs.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_label_value(value, out);
        out.push(b'"');
    }
}

/// Renders `name="value",...` for a series, once, at creation, appended to `text`.
pub(crate) fn render_labels_into<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    text: &mut String,
) {
    let mut out = Vec::new();
    write_label_pairs(pairs, &mut out);
    // Only valid UTF-8 went in (str slices and ASCII escapes), so nothing is replaced.
    text.push_str(&String::from_utf8_lossy(&out));
}

/// The `le` label value of a bucket bound.
pub(crate) fn render_le(bound: f64) -> Box<str> {
    let mut out = Vec::new();
    write_f64(bound, &mut out);
    String::from_utf8_lossy(&out).into_owned().into_boxed_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_is_negotiated_as_prometheus_asks_for_it() {
        let native = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(native)), Format::Protobuf);
        // Protobuf without the delimited encoding or another message is not ours to send.
        assert_eq!(
            Format::negotiate(Some("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some(
                "application/vnd.google.protobuf;proto=other.Msg;encoding=delimited"
            )),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text")),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
    }

    /// The inverse of `escape_label_value`, as a parser reads it.
    fn unescape(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn escaped_label_values_have_no_raw_quote_or_newline_and_round_trip(v in "\\PC*|[\"\\\\\n]{0,8}") {
            let mut out = Vec::new();
            escape_label_value(&v, &mut out);
            let escaped = String::from_utf8(out).expect("valid UTF-8 preserved");
            proptest::prop_assert!(!escaped.contains('\n'));
            let unescaped_quotes = escaped.replace("\\\\", "").replace("\\\"", "");
            proptest::prop_assert!(!unescaped_quotes.contains('"'));
            proptest::prop_assert_eq!(unescape(&escaped), v);
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = Vec::new();
        escape_label_value("a\"b\\c\nd é", &mut out);
        assert_eq!(out, "a\\\"b\\\\c\\nd é".as_bytes());
    }

    #[test]
    fn negotiation() {
        use Format::*;
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prom)), OpenMetrics);
        let old_prom =
            "application/openmetrics-text; version=0.0.1,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(old_prom)), OpenMetrics);
        assert_eq!(Format::negotiate(None), Text);
        assert_eq!(Format::negotiate(Some("")), Text);
        assert_eq!(Format::negotiate(Some("garbage;;;,,q=")), Text);
        assert_eq!(Format::negotiate(Some("*/*")), Text);
        assert_eq!(Format::negotiate(Some("text/plain")), Text);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text")),
            OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0.2,text/plain;q=0.9")),
            Text
        );
        assert_eq!(
            Format::negotiate(Some("text/plain;q=0.2, application/openmetrics-text;q=0.9")),
            OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=abc")),
            Text
        );
        assert_eq!(
            Format::negotiate(Some("APPLICATION/OpenMetrics-Text; version=1.0.0")),
            OpenMetrics
        );
        assert_eq!(Format::negotiate(Some("application/json")), Text);
    }

    #[test]
    fn units_from_names() {
        assert_eq!(
            FamilyMeta::new("a_seconds", "", MetricType::Gauge).unit,
            Some("seconds")
        );
        assert_eq!(
            FamilyMeta::new("process_cpu_seconds_total", "", MetricType::Counter).unit,
            Some("seconds")
        );
        assert_eq!(
            FamilyMeta::new("process_cpu_seconds_total", "", MetricType::Counter)
                .base
                .as_ref(),
            "process_cpu_seconds"
        );
        assert_eq!(
            FamilyMeta::new("zigquant_memory_bytes", "", MetricType::Gauge).unit,
            Some("bytes")
        );
        assert_eq!(
            FamilyMeta::new("zigquant_threads", "", MetricType::Gauge).unit,
            None
        );
        assert_eq!(FamilyMeta::new("seconds", "", MetricType::Gauge).unit, None);
    }
}
