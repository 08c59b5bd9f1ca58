//! Pure statistics for zigquant, defined exactly as in `shared/ANALYTICS.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
