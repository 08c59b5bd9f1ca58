//! Read-only answers about the simulation (the API's views) and the gauge events it reports
//! after each step. Per-strategy numbers all come from [`StrategyStats::of`].

use super::{Logic, Now, Simulation};
use crate::domain::alerts::AlertLevel;
use crate::domain::orders::{Order, OrderFilter, OrderStatus, Page};
use crate::journal::JournalError;
use crate::report::gauges;
use crate::report::views::{
    Health, OrderTotals, PositionInfo, StrategyInfo, StrategyPosition, StrategySummary, Summary,
    TradeInfo,
};
use crate::state::stats::StrategyStats;

impl Simulation {
    fn stats_of(&self, name: &str) -> StrategyStats {
        match self.portfolio.accounts.get(name) {
            Some(a) => StrategyStats::of(a, &self.portfolio.marks),
            None => StrategyStats::empty(self.cfg.initial_cash),
        }
    }

    /// Every strategy (configured, noise, manual).
    pub fn strategies(&self) -> Vec<StrategyInfo> {
        (0..self.slots.len()).map(|i| self.info(i)).collect()
    }

    pub(crate) fn info(&self, si: usize) -> StrategyInfo {
        let s = &self.slots[si];
        let (kind, pair, exchange, params) = match &s.logic {
            Logic::Rule {
                kind,
                pair,
                exchange,
                params,
                ..
            } => (
                kind.to_string(),
                pair.map(|p| self.pairs[p].id.as_str().to_string()),
                pair.map(|_| self.exchanges[*exchange].cfg.name.clone()),
                params.clone(),
            ),
            Logic::Manual => ("manual".to_string(), None, None, None),
        };
        StrategyInfo::new(
            s.name.clone(),
            kind,
            pair,
            exchange,
            s.running,
            params,
            self.stats_of(&s.name),
        )
    }

    /// Net position per configured pair, with each strategy's share.
    pub fn positions(&self) -> Vec<PositionInfo> {
        self.pairs
            .iter()
            .map(|p| {
                let pair = p.id.as_str();
                let mark = self.portfolio.marks.pair(pair);
                let by_strategy = self
                    .portfolio
                    .accounts
                    .iter()
                    .filter_map(|(name, a)| {
                        let b = a.books.get(pair)?;
                        if b.is_flat() {
                            return None;
                        }
                        Some(StrategyPosition {
                            strategy: name.clone(),
                            size: b.position(),
                            avg_entry_price: b.avg_entry_price(),
                            unrealized_pnl: mark.map_or(0.0, |m| b.unrealized_pnl(m)),
                        })
                    })
                    .collect();
                PositionInfo {
                    pair: pair.to_string(),
                    size: self.portfolio.net_position(pair),
                    mark_price: mark,
                    unrealized_pnl: self.portfolio.pair_unrealized(pair),
                    by_strategy,
                }
            })
            .collect()
    }

    /// Lifetime totals and current statistics.
    pub fn summary(&self) -> Summary {
        let s = &self.portfolio.equity_stats;
        let count = |st: OrderStatus| self.totals.orders.get(&st).copied().unwrap_or(0);
        Summary {
            trades_total: self.totals.trades,
            orders_total: OrderTotals {
                filled: count(OrderStatus::Filled),
                cancelled: count(OrderStatus::Cancelled),
                rejected: count(OrderStatus::Rejected),
                open: self.open.len() as u64,
            },
            alerts_total: AlertLevel::ALL
                .iter()
                .map(|l| {
                    (
                        l.as_str().to_string(),
                        self.totals.alerts.get(l).copied().unwrap_or(0),
                    )
                })
                .collect(),
            equity: self.portfolio.equity(),
            max_drawdown: s.max_drawdown(),
            var_95: s.var_95(),
            cvar_95: s.cvar_95(),
            equity_samples: s.points() as u64,
            strategies: self
                .portfolio
                .accounts
                .keys()
                .map(|name| StrategySummary::new(name.clone(), self.stats_of(name)))
                .collect(),
        }
    }

    /// Journal and feed liveness at `now`. Live means every pair has delivered a bar in this
    /// run, recently: before the first bar there is no price to trade at.
    pub fn health(&self, now: Now) -> Health {
        let bar_wall_ms = ((self.interval_ms as f64 / self.speed_ms).max(0.0) * 5.0 + 1.0) * 1000.0;
        let fresh = self.pairs.iter().all(|p| {
            p.last_bar_wall_ms.is_some_and(|t| {
                now.paced_market_ms.is_none() || (now.wall_ms - t) as f64 <= bar_wall_ms
            })
        });
        Health {
            journal_ok: self.halted.is_none(),
            feeds_live: self.halted.is_none() && self.ticking && fresh,
            halted: self.halted.clone(),
        }
    }

    /// Bar ticks run, identity violations: the parts of `Progress` the simulation knows.
    pub fn ticks_and_violations(&self) -> (u64, u64) {
        (self.ticks_run, self.identity_violations)
    }

    /// One order with its fills: open ones from memory, the rest from the journal.
    pub fn order(&self, id: u64) -> Result<Option<Order>, JournalError> {
        match self.open.get(&id) {
            Some(rec) => Ok(Some(rec.order.clone())),
            None => self.journal.order(id),
        }
    }

    /// A page of orders, newest first (the runtime answers this from its read connection).
    pub fn orders(&self, f: &OrderFilter) -> Result<Page<Order>, JournalError> {
        self.journal.orders(f)
    }

    /// A page of fills, newest first (the runtime answers this from its read connection).
    pub fn trades(&self, offset: usize, limit: usize) -> Result<Page<TradeInfo>, JournalError> {
        self.journal.trades(offset, limit)
    }

    /// A page of the audit trail, newest first (the runtime answers this from its read
    /// connection).
    pub fn audit(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<Page<crate::domain::audit::AuditEntry>, JournalError> {
        self.journal.audit(offset, limit)
    }

    pub(crate) fn push_pair_gauges(&mut self, pair: &str) {
        self.pending.push(gauges::position(&self.portfolio, pair));
        let count =
            gauges::position_count(&self.portfolio, self.pairs.iter().map(|p| p.id.as_str()));
        self.pending.push(count);
    }

    pub(crate) fn push_strategy_stats(&mut self, name: &str) {
        let Some(a) = self.portfolio.accounts.get(name) else {
            return;
        };
        if !self.slots.iter().any(|s| s.name == name) {
            return;
        }
        let stats = StrategyStats::of(a, &self.portfolio.marks);
        self.pending.push(gauges::strategy_stats(name, stats));
    }

    /// Every gauge: positions, strategy and portfolio statistics, open orders.
    pub(crate) fn push_gauges(&mut self, portfolio: bool) {
        for p in &self.pairs {
            self.pending
                .push(gauges::position(&self.portfolio, p.id.as_str()));
        }
        let count =
            gauges::position_count(&self.portfolio, self.pairs.iter().map(|p| p.id.as_str()));
        self.pending.push(count);
        let names: Vec<String> = self.slots.iter().map(|s| s.name.clone()).collect();
        for n in &names {
            self.push_strategy_stats(n);
        }
        if portfolio {
            self.pending.push(gauges::portfolio_stats(&self.portfolio));
        }
        self.pending
            .push(crate::report::events::EngineEvent::OrdersActive(
                self.open.len(),
            ));
    }
}
