//! JSON for floats that may be undefined: finite values are numbers, NaN and infinities are the
//! strings `"NaN"`, `"+Inf"` and `"-Inf"` (as Prometheus spells them), never a misleading 0.

use serde::Serializer;

/// Serializes one `f64` (use with `#[serde(serialize_with = "crate::domain::float::f64_or_str")]`).
pub fn f64_or_str<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else if v.is_nan() {
        s.serialize_str("NaN")
    } else if *v > 0.0 {
        s.serialize_str("+Inf")
    } else {
        s.serialize_str("-Inf")
    }
}

/// Serializes an `Option<f64>`: `None` is `null`, the value as [`f64_or_str`].
pub fn opt_f64_or_str<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => f64_or_str(x, s),
        None => s.serialize_none(),
    }
}
