//! The vocabulary every other module speaks: orders and reject reasons, bars, alert levels,
//! typed ids, keyed random streams and JSON floats. It depends on nothing else in the crate.

pub mod alerts;
pub mod audit;
mod bar_time;
pub mod bars;
mod csv_bars;
mod csv_load;
mod csv_plain;
pub mod float;
pub mod ids;
pub mod orders;
pub mod rng;
