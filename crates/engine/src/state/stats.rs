//! One strategy's statistics, computed in one place from its account and the marks. The API's
//! strategy list, the summary and the metrics event are all views of this one type, so a new
//! statistic is added here once (plus the fields of the views that show it).

use super::portfolio::Account;
use crate::market::Marks;

/// Everything known about how one strategy is doing.
#[derive(Clone, Debug, PartialEq)]
pub struct StrategyStats {
    /// Realized PnL of closed round trips, net of fees.
    pub realized_pnl: f64,
    /// The same, per pair.
    pub realized_pnl_by_pair: Vec<(String, f64)>,
    /// Win rate of closed round trips (NaN when none).
    pub win_rate: f64,
    /// Closed round trips.
    pub closed_trades: u64,
    /// Sharpe of its mark-to-market equity.
    pub sharpe: f64,
    /// Calmar of its mark-to-market equity.
    pub calmar: f64,
    /// Mark-to-market equity.
    pub equity: f64,
    /// Cash balance.
    pub cash: f64,
    /// Fees paid in total.
    pub fees_paid: f64,
}

impl StrategyStats {
    /// The statistics of `account` valued at `marks`.
    pub fn of(account: &Account, marks: &Marks) -> Self {
        Self {
            realized_pnl: account.realized_pnl(),
            realized_pnl_by_pair: account
                .realized_by_pair
                .iter()
                .map(|(p, v)| (p.clone(), *v))
                .collect(),
            win_rate: account.trades.win_rate(),
            closed_trades: account.trades.closed(),
            sharpe: account.equity_stats.sharpe(),
            calmar: account.equity_stats.calmar(),
            equity: account.equity(marks.valuation()),
            cash: account.cash,
            fees_paid: account.fees_paid,
        }
    }

    /// A strategy that has no account yet: its initial cash, nothing else defined.
    pub fn empty(initial_cash: f64) -> Self {
        Self {
            realized_pnl: 0.0,
            realized_pnl_by_pair: Vec::new(),
            win_rate: f64::NAN,
            closed_trades: 0,
            sharpe: f64::NAN,
            calmar: f64::NAN,
            equity: initial_cash,
            cash: initial_cash,
            fees_paid: 0.0,
        }
    }
}
