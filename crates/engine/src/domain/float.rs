//! JSON for floats that may be undefined: finite values are numbers, NaN and infinities are the
//! strings `"NaN"`, `"+Inf"` and `"-Inf"` (as Prometheus spells them), never a misleading 0.

use serde::Serializer;

/// How a non-finite value is spelled (`"NaN"`, `"+Inf"`, `"-Inf"`); `None` for a finite one.
/// The one place that spelling lives: JSON here and the backtest's text table both use it.
pub fn non_finite_name(v: f64) -> Option<&'static str> {
    if v.is_finite() {
        None
    } else if v.is_nan() {
        Some("NaN")
    } else if v > 0.0 {
        Some("+Inf")
    } else {
        Some("-Inf")
    }
}

/// Serializes one `f64` (use with `#[serde(serialize_with = "crate::domain::float::f64_or_str")]`).
pub fn f64_or_str<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    match non_finite_name(*v) {
        None => s.serialize_f64(*v),
        Some(name) => s.serialize_str(name),
    }
}

/// Serializes an `Option<f64>`: `None` is `null`, the value as [`f64_or_str`].
pub fn opt_f64_or_str<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => f64_or_str(x, s),
        None => s.serialize_none(),
    }
}

/// The JSON Schema of a number written by [`f64_or_str`]: a number, or one of the strings
/// `"NaN"`, `"+Inf"`, `"-Inf"` (OpenAPI 3.0).
#[cfg(feature = "schema")]
pub fn metric_number_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "a number; undefined or infinite values are the strings \"NaN\", \"+Inf\" or \"-Inf\"",
        "oneOf": [
            { "type": "number" },
            { "type": "string", "enum": ["NaN", "+Inf", "-Inf"] }
        ]
    })
}

/// The JSON Schema of an `Option<f64>` written by [`opt_f64_or_str`]: as
/// [`metric_number_schema`], or `null`. OpenAPI 3.0's `nullable` applies to a schema's own
/// `type`, not to a `oneOf` around it, so it goes on the number branch: `null` then matches
/// exactly one branch (a position before its first mark has `mark_price: null`).
#[cfg(feature = "schema")]
pub fn opt_metric_number_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "a number or null; undefined or infinite values are the strings \"NaN\", \"+Inf\" or \"-Inf\"",
        "oneOf": [
            { "type": "number", "nullable": true },
            { "type": "string", "enum": ["NaN", "+Inf", "-Inf"] }
        ]
    })
}
