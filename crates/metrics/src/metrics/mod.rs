//! What is measured: the three metric types. How they are written lives in [`crate::encoding`].

mod counter;
mod gauge;
pub(crate) mod histogram;

pub use counter::Counter;
pub use gauge::Gauge;
pub use histogram::Histogram;
