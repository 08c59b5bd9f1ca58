//! Execution: paper venues (fees, latency, outages, matching rules) and the link state machine.
//! These are pure rules; the simulation applies them to its open orders in `sim::orders`.

pub mod link;
pub mod paper;

pub use link::Link;
pub use paper::{limit_fill_price, marketable, PaperExchange};
