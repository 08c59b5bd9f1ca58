//! Books and statistics: one account per strategy (cash, a FIFO book per pair, closed-trade
//! statistics, an equity curve), and the portfolio (sum of the accounts) with its own curve.
//! All statistics come from `zigquant_analytics`; this module only does the accounting.

use std::collections::BTreeMap;

use zigquant_analytics::live::{EquityCurve, EquityStats};
use zigquant_analytics::trades::{ClosedTrade, FifoBook, Fill, TradeStats};

use crate::domain::orders::OrderSide;
use crate::market::Marks;

/// One strategy's money and positions.
#[derive(Clone, Debug)]
pub struct Account {
    /// Starting cash.
    pub initial_cash: f64,
    /// Cash now: initial − Σ signed notional − Σ fees.
    pub cash: f64,
    /// FIFO book per pair.
    pub books: BTreeMap<String, FifoBook>,
    /// Realized PnL (net of fees) per pair, from closed round trips.
    pub realized_by_pair: BTreeMap<String, f64>,
    /// Closed round-trip statistics.
    pub trades: TradeStats,
    /// Mark-to-market equity sampled once per bar (docs/statistics.md §9): whole-history
    /// Sharpe and Calmar in constant memory (a strategy has no VaR gauge, so no VaR window).
    pub equity_stats: EquityCurve,
    /// All fees paid.
    pub fees_paid: f64,
}

impl Account {
    /// An account holding only `initial_cash`.
    pub fn new(initial_cash: f64, periods_per_year: f64) -> Self {
        Self {
            initial_cash,
            cash: initial_cash,
            books: BTreeMap::new(),
            realized_by_pair: BTreeMap::new(),
            trades: TradeStats::default(),
            equity_stats: EquityCurve::new(periods_per_year),
            fees_paid: 0.0,
        }
    }

    /// Books one fill and returns the round trips it closed.
    pub fn apply_fill(
        &mut self,
        pair: &str,
        side: OrderSide,
        qty: f64,
        price: f64,
        fee: f64,
        time_ms: i64,
    ) -> Vec<ClosedTrade> {
        self.cash -= side.sign() * qty * price + fee;
        self.fees_paid += fee;
        let book = self.books.entry(pair.to_string()).or_default();
        let closed = book.apply(&Fill {
            side: side.to_analytics(),
            qty,
            price,
            fee,
            time_ms,
        });
        let realized = self.realized_by_pair.entry(pair.to_string()).or_insert(0.0);
        for t in &closed {
            self.trades.record(t);
            *realized += t.realized_pnl;
        }
        closed
    }

    /// Signed position in `pair`.
    pub fn position(&self, pair: &str) -> f64 {
        self.books.get(pair).map_or(0.0, FifoBook::position)
    }

    /// Realized PnL of closed round trips, net of fees.
    pub fn realized_pnl(&self) -> f64 {
        self.trades.total_realized_pnl()
    }

    /// Unrealized (gross) PnL of all open lots at the given marks.
    pub fn unrealized_pnl(&self, marks: &BTreeMap<String, f64>) -> f64 {
        self.books
            .iter()
            .map(|(pair, b)| marks.get(pair).map_or(0.0, |m| b.unrealized_pnl(*m)))
            .sum()
    }

    /// Mark-to-market equity per docs/statistics.md §9: initial cash + realized PnL + unrealized PnL
    /// − entry fees already paid on open lots.
    pub fn equity(&self, marks: &BTreeMap<String, f64>) -> f64 {
        let open_fees: f64 = self.books.values().map(FifoBook::open_entry_fees).sum();
        self.initial_cash + self.realized_pnl() + self.unrealized_pnl(marks) - open_fees
    }

    /// The same equity computed as cash + position value (the accounting identity).
    pub fn cash_plus_positions(&self, marks: &BTreeMap<String, f64>) -> f64 {
        self.cash
            + self
                .books
                .iter()
                .map(|(pair, b)| marks.get(pair).map_or(0.0, |m| b.position() * m))
                .sum::<f64>()
    }
}

/// All accounts, the last prices and the portfolio's equity curve.
#[derive(Clone, Debug)]
pub struct Portfolio {
    /// Accounts by strategy name.
    pub accounts: BTreeMap<String, Account>,
    /// Last prices per (venue, pair).
    pub marks: Marks,
    /// Portfolio mark-to-market equity sampled once per bar tick: whole-history statistics
    /// plus VaR/CVaR over the last `var_window` returns.
    pub equity_stats: EquityStats,
}

impl Portfolio {
    /// One account per strategy name, each with `initial_cash`; VaR/CVaR cover the last
    /// `var_window` portfolio returns.
    pub fn new(
        strategies: &[String],
        initial_cash: f64,
        periods_per_year: f64,
        var_window: usize,
    ) -> Self {
        Self {
            accounts: strategies
                .iter()
                .map(|s| (s.clone(), Account::new(initial_cash, periods_per_year)))
                .collect(),
            marks: Marks::default(),
            equity_stats: EquityStats::with_var_window(periods_per_year, var_window),
        }
    }

    /// Portfolio equity: the sum of the accounts' equities.
    pub fn equity(&self) -> f64 {
        self.accounts
            .values()
            .map(|a| a.equity(self.marks.valuation()))
            .sum()
    }

    /// Net position of a pair across strategies.
    pub fn net_position(&self, pair: &str) -> f64 {
        self.accounts.values().map(|a| a.position(pair)).sum()
    }

    /// Unrealized PnL of a pair across strategies.
    pub fn pair_unrealized(&self, pair: &str) -> f64 {
        let Some(m) = self.marks.pair(pair) else {
            return 0.0;
        };
        self.accounts
            .values()
            .filter_map(|a| a.books.get(pair))
            .map(|b| b.unrealized_pnl(m))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equity_identity_and_realized_sum_hold_through_a_round_trip() {
        let mut a = Account::new(1000.0, 365.0);
        let mut marks = BTreeMap::new();
        a.apply_fill("X", OrderSide::Buy, 2.0, 10.0, 0.02, 0);
        marks.insert("X".to_string(), 11.0);
        assert!((a.equity(&marks) - a.cash_plus_positions(&marks)).abs() < 1e-9);
        let closed = a.apply_fill("X", OrderSide::Sell, 3.0, 12.0, 0.036, 1);
        assert_eq!(closed.len(), 1);
        marks.insert("X".to_string(), 13.0);
        assert!((a.equity(&marks) - a.cash_plus_positions(&marks)).abs() < 1e-9);
        let sum: f64 = closed.iter().map(|t| t.realized_pnl).sum();
        assert!((a.realized_pnl() - sum).abs() < 1e-12);
        assert_eq!(a.position("X"), -1.0);
    }
}
