//! Metric primitives, the zigquant metric catalogue and the exposition encoders.
#![deny(missing_docs)]
