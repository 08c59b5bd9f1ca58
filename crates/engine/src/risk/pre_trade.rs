//! Pre-trade checks: at submission (price known, position limit, link up) and at fill time
//! (can the account afford what the order opens). Pure functions of their inputs.

use std::collections::BTreeMap;

use crate::domain::orders::{OrderSide, RejectReason};
use crate::state::portfolio::Account;

/// Why a new order is refused at submission, if it is: no price to value it at, it would grow
/// the net position past `max_notional`, or the venue's link is down.
pub fn check_submit(
    price: Option<f64>,
    net_position: f64,
    side: OrderSide,
    qty: f64,
    max_notional: f64,
    connected: bool,
) -> Option<RejectReason> {
    let new_net = net_position + side.sign() * qty;
    match price {
        None => Some(RejectReason::Other),
        Some(p) if new_net.abs() > net_position.abs() && new_net.abs() * p > max_notional => {
            Some(RejectReason::RiskLimit)
        }
        _ if !connected => Some(RejectReason::ExchangeDisconnected),
        _ => None,
    }
}

/// Whether `account` can pay for what a fill of `qty` at `price` (plus `fee`) opens: buys from
/// cash, new shorts from equity. Closing a position is always affordable.
pub fn affordable(
    account: Option<&Account>,
    pair: &str,
    side: OrderSide,
    qty: f64,
    price: f64,
    fee: f64,
    marks: &BTreeMap<String, f64>,
) -> bool {
    let Some(a) = account else {
        return false;
    };
    let pos = a.position(pair);
    let new = pos + side.sign() * qty;
    match side {
        OrderSide::Buy => {
            let opening = (new.max(0.0) - pos.max(0.0)).max(0.0);
            opening * price + fee <= a.cash
        }
        OrderSide::Sell => {
            let opening = ((-new).max(0.0) - (-pos).max(0.0)).max(0.0);
            opening * price + fee <= a.equity(marks)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growing_past_the_limit_is_refused_and_shrinking_is_not() {
        let buy = OrderSide::Buy;
        let sell = OrderSide::Sell;
        assert_eq!(
            check_submit(Some(100.0), 0.0, buy, 20.0, 1000.0, true),
            Some(RejectReason::RiskLimit)
        );
        assert_eq!(
            check_submit(Some(100.0), 20.0, sell, 5.0, 1000.0, true),
            None
        );
        assert_eq!(
            check_submit(None, 0.0, buy, 1.0, 1000.0, true),
            Some(RejectReason::Other)
        );
        assert_eq!(
            check_submit(Some(1.0), 0.0, buy, 1.0, 1000.0, false),
            Some(RejectReason::ExchangeDisconnected)
        );
    }
}
