//! The one error type of the crate.

use thiserror::Error;

/// Why a metric, family or catalogue could not be created. Recording and encoding never fail.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MetricsError {
    /// Histogram bounds must be non-empty, finite and strictly increasing.
    #[error("invalid histogram buckets {bounds:?}: {reason}")]
    InvalidBuckets {
        /// The bounds as given.
        bounds: Vec<f64>,
        /// What is wrong with them.
        reason: &'static str,
    },
    /// A metric name must match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[error("invalid metric name {0:?}")]
    InvalidMetricName(String),
    /// A label name must match `[a-zA-Z_][a-zA-Z0-9_]*` and must not be `le` or start with `__`.
    #[error("invalid label name {0:?}")]
    InvalidLabelName(String),
    /// Two families with the same exported name in one registry.
    #[error("metric {0:?} is already registered")]
    Duplicate(String),
    /// The product of the label domains' sizes does not fit the 64-bit series key.
    #[error("label domains of {0:?} are too large to combine")]
    TooManySeries(String),
    /// A typed label set does not name a family's labels in order.
    #[error("{0}")]
    LabelSetMismatch(String),
    /// Native histogram settings out of range (bucket factor must exceed 1, at least one
    /// bucket).
    #[error("invalid native histogram settings: {0}")]
    InvalidNativeHistogram(String),
}
