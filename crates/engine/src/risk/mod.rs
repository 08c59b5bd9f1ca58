//! Risk: the pre-trade checks an order must pass before it is sent, and the monitor that turns
//! portfolio facts into alerts.

pub mod monitor;
pub mod pre_trade;

pub use monitor::{Alert, RiskMonitor};
