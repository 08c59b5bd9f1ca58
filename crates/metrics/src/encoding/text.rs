//! Prometheus text exposition format 0.0.4: counters are named `<name>_total` in HELP/TYPE,
//! HELP escapes only `\\` and `\n`, no UNIT lines, no EOF marker.

use super::{escape_help, FamilyMeta, MetricType};

/// Writes `# HELP` and `# TYPE` for a family.
pub(crate) fn write_header(meta: &FamilyMeta, out: &mut Vec<u8>) {
    let suffix: &[u8] = if meta.kind == MetricType::Counter {
        b"_total"
    } else {
        b""
    };
    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(meta.base.as_bytes());
    out.extend_from_slice(suffix);
    out.push(b' ');
    escape_help(&meta.help, false, out);
    out.extend_from_slice(b"\n# TYPE ");
    out.extend_from_slice(meta.base.as_bytes());
    out.extend_from_slice(suffix);
    out.push(b' ');
    out.extend_from_slice(meta.kind.as_str().as_bytes());
    out.push(b'\n');
}
