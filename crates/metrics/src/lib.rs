//! Metric primitives, the zigquant metric catalogue and the exposition encoders.
//!
//! * [`metrics`]: what is measured ([`Counter`], [`Gauge`], [`Histogram`]).
//! * [`label`] and [`family`]: bounded label sets ([`LabelDomain`]) and labelled families
//!   ([`Family`]); an unknown label value maps to the domain's fallback, so the number of series
//!   is bounded by construction.
//! * [`labels`]: typed label sets per catalogue family, so a swapped label fails to compile.
//! * [`registry`]: the set of families a scrape encodes.
//! * [`encoding`]: how it is written (Prometheus text 0.0.4, OpenMetrics 1.0.0, protobuf).
//! * [`proto`]: the protobuf schema, prost types generated from the official `metrics.proto`.
//! * [`catalogue`]: the zigquant metric catalogue of docs/metrics.md.
//! * [`process`]: process metrics read from `/proc/self` at each scrape.
//! * [`alloc`]: a counting global allocator for `zigquant_memory_bytes{type="heap"}`.
//! * [`clock`]: a cheap monotonic clock for timing every request.
#![deny(missing_docs)]
// Only `alloc` (a `GlobalAlloc` impl cannot be written without it), the one time-stamp
// counter read in `clock` and the cache-line prefetch hint in `encoding::prefetch` opt back in.
#![deny(unsafe_code)]

pub mod alloc;
pub mod catalogue;
pub mod clock;
pub mod encoding;
pub mod error;
pub mod family;
mod hash;
pub mod label;
pub mod labels;
pub mod metrics;
pub mod process;
pub mod proto;
pub mod registry;

pub use catalogue::{Catalogue, CatalogueConfig, InstanceInfo};
pub use encoding::Format;
pub use error::MetricsError;
pub use family::{Family, Metric};
pub use label::LabelDomain;
pub use labels::{LabelKind, LabelSet, Labelled};
pub use metrics::{
    Counter, ExemplarData, ExemplarSlot, Gauge, Histogram, NativeConfig, NativeSnapshot,
};
pub use registry::Registry;
