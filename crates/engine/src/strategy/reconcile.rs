//! Turns a strategy's target position into the one order that closes the gap, counting what
//! its open orders will already do, in the execution style its configuration asks for.

use serde::{Deserialize, Serialize};

use crate::domain::orders::{OrderKind, OrderSide};

/// Order type a strategy uses to reach its target position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStyle {
    /// Market orders, filled at the last price on arrival.
    Market,
    /// Limit orders at the bar close (less `limit_offset_bps`), cancelled after
    /// `time_in_force_secs` if the market does not reach them.
    Limit,
}

/// How a target-position strategy turns targets into orders (from its configuration).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Execution {
    /// Market or limit orders.
    pub style: ExecutionStyle,
    /// Time in force of limit orders, wall seconds.
    pub time_in_force_secs: f64,
    /// Limit offset from the close, basis points (passive side).
    pub limit_offset_bps: f64,
}

/// The order (side, kind, qty) that moves `position + pending` to `target`, or `None` when they
/// already agree. Limit orders rest `limit_offset_bps` on the passive side of `close`.
pub fn order_for_target(
    cfg: &Execution,
    target: f64,
    position: f64,
    pending: f64,
    close: f64,
) -> Option<(OrderSide, OrderKind, f64)> {
    let diff = target - (position + pending);
    if diff.abs() <= 1e-9 * target.abs().max(1.0) {
        return None;
    }
    let side = if diff > 0.0 {
        OrderSide::Buy
    } else {
        OrderSide::Sell
    };
    let off = cfg.limit_offset_bps / 10_000.0;
    let kind = match cfg.style {
        ExecutionStyle::Market => OrderKind::Market,
        ExecutionStyle::Limit => OrderKind::Limit {
            price: match side {
                OrderSide::Buy => close * (1.0 - off),
                OrderSide::Sell => close * (1.0 + off),
            },
            time_in_force_secs: Some(cfg.time_in_force_secs),
        },
    };
    Some((side, kind, diff.abs()))
}
