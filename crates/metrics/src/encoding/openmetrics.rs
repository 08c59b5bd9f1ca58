//! OpenMetrics 1.0.0: the family name of a counter has no `_total` (its sample does), `# UNIT`
//! when the name ends in a base unit, HELP escapes `\"` too, and the exposition ends `# EOF`.
//! Only OpenMetrics (of the text formats) carries exemplars and `_created`: their lines are here.

use super::lines::{
    write_bucket_lines, write_counter_head, write_series_prefix, write_sum_and_count, SampleHeads,
};
use super::numbers::{write_f64, write_u64, write_unix_ms_as_seconds};
use super::{escape_help, write_label_pairs, FamilyMeta};
use crate::metrics::exemplar::{ExemplarCell, ExemplarData};

/// Writes `# TYPE`, `# UNIT` (when the name carries one) and `# HELP` for a family.
pub(crate) fn write_header(meta: &FamilyMeta, out: &mut Vec<u8>) {
    out.extend_from_slice(b"# TYPE ");
    out.extend_from_slice(meta.base.as_bytes());
    out.push(b' ');
    out.extend_from_slice(meta.kind.as_str().as_bytes());
    out.push(b'\n');
    if let Some(unit) = meta.unit {
        out.extend_from_slice(b"# UNIT ");
        out.extend_from_slice(meta.base.as_bytes());
        out.push(b' ');
        out.extend_from_slice(unit.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(meta.base.as_bytes());
    out.push(b' ');
    escape_help(&meta.help, true, out);
    out.push(b'\n');
}

/// ` # {labels} value timestamp` (OpenMetrics exemplar), before the line's newline.
fn write_exemplar(e: &ExemplarData, out: &mut Vec<u8>) {
    out.extend_from_slice(b" # {");
    write_label_pairs(e.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())), out);
    out.extend_from_slice(b"} ");
    write_f64(e.value, out);
    out.push(b' ');
    write_unix_ms_as_seconds(e.timestamp_ms, out);
}

fn write_cell_exemplar(cell: Option<&ExemplarCell>, out: &mut Vec<u8>) {
    if let Some(cell) = cell {
        cell.with(|e| write_exemplar(e, out));
    }
}

/// `name_created{labels} <seconds>` (OpenMetrics).
fn write_created(base: &str, labels: &str, created_ms: i64, out: &mut Vec<u8>) {
    write_series_prefix(base, "_created", labels, out);
    write_unix_ms_as_seconds(created_ms, out);
    out.push(b'\n');
}

/// An OpenMetrics counter: the sample (with its exemplar) and `_created`.
pub(crate) fn write_om_counter(
    (heads, base, labels): (&SampleHeads, &str, &str),
    v: u64,
    exemplar: Option<&ExemplarCell>,
    created_ms: Option<i64>,
    out: &mut Vec<u8>,
) {
    write_counter_head(heads, labels, out);
    write_u64(v, out);
    write_cell_exemplar(exemplar, out);
    out.push(b'\n');
    if let Some(ms) = created_ms {
        write_created(base, labels, ms, out);
    }
}

/// An OpenMetrics histogram series: buckets (each with its exemplar, `+Inf` last), `_sum`,
/// `_count`, `_created` (when `created_ms` is set).
pub(crate) fn write_om_histogram(
    (heads, base, labels): (&SampleHeads, &str, &str),
    (cumulative, sum): (&[u64], f64),
    (exemplars, created_ms): (Option<&[ExemplarCell]>, Option<i64>),
    out: &mut Vec<u8>,
) {
    let exemplar = |i: usize, out: &mut Vec<u8>| {
        write_cell_exemplar(exemplars.and_then(|e| e.get(i)), out);
    };
    write_bucket_lines(heads, labels, cumulative, out, Some(exemplar));
    let count = cumulative.last().copied().unwrap_or(0);
    write_sum_and_count(heads, labels, sum, count, out);
    if let Some(ms) = created_ms {
        write_created(base, labels, ms, out);
    }
}
