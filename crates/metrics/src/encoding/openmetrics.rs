//! OpenMetrics 1.0.0: the family name of a counter has no `_total` (its sample does), `# UNIT`
//! when the name ends in a base unit, HELP escapes `\"` too, and the exposition ends `# EOF`.

use super::{escape_help, FamilyMeta};

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
