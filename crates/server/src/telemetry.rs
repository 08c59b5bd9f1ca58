//! The bridge from engine events to the metric catalogue.
//!
//! The engine calls [`MetricsSink::on_event`] synchronously right after each fact, so a scrape
//! taken after the event returns already sees it: the event-to-metric delay is the cost of one
//! label lookup and one atomic update, far below the 1 ms the design asks for.

use std::sync::Arc;

use zigquant_engine::{AlertLevel, EngineEvent, EventSink, OrderSide, OrderStatus};
use zigquant_metrics::labels::{
    AlertLabels, Exchange, ExchangeLabels, Level, OrderStatusLabels, Pair, PairLabels, Reason,
    RejectionLabels, Side, Strategy, StrategyLabels, StrategyPairLabels, TerminalStatus,
    TradeLabels,
};
use zigquant_metrics::Catalogue;

fn side(s: OrderSide) -> Side {
    match s {
        OrderSide::Buy => Side::Buy,
        OrderSide::Sell => Side::Sell,
    }
}

/// The `status` label of a terminal order (`None` for `open`, which is never counted).
fn terminal(s: OrderStatus) -> Option<OrderStatusLabels> {
    let status = match s {
        OrderStatus::Filled => TerminalStatus::Filled,
        OrderStatus::Cancelled => TerminalStatus::Cancelled,
        OrderStatus::Rejected => TerminalStatus::Rejected,
        OrderStatus::Open => return None,
    };
    Some(OrderStatusLabels { status })
}

fn alert(l: AlertLevel) -> AlertLabels {
    AlertLabels {
        level: match l {
            AlertLevel::Critical => Level::Critical,
            AlertLevel::Warning => Level::Warning,
            AlertLevel::Info => Level::Info,
        },
    }
}

fn trade<'a>(strategy: &'a str, pair: &'a str, s: OrderSide) -> TradeLabels<'a> {
    TradeLabels {
        strategy: Strategy(strategy),
        pair: Pair(pair),
        side: side(s),
    }
}

fn of_strategy(strategy: &str) -> StrategyLabels<'_> {
    StrategyLabels {
        strategy: Strategy(strategy),
    }
}

fn of_pair(pair: &str) -> PairLabels<'_> {
    PairLabels { pair: Pair(pair) }
}

/// Updates the catalogue from engine events.
pub struct MetricsSink {
    catalogue: Arc<Catalogue>,
}

impl MetricsSink {
    /// A sink writing into `catalogue`.
    pub fn new(catalogue: Arc<Catalogue>) -> Self {
        Self { catalogue }
    }
}

impl EventSink for MetricsSink {
    fn on_event(&self, event: &EngineEvent) {
        let c = &self.catalogue;
        match event {
            EngineEvent::Restored(totals) => {
                // Lifetime counters continue from the journal (docs/metrics.md).
                for (strategy, pair, side, n) in &totals.fills {
                    c.trades_total.get(&trade(strategy, pair, *side)).inc_by(*n);
                }
                for (status, n) in &totals.orders {
                    if let Some(l) = terminal(*status) {
                        c.orders_total.get(&l).inc_by(*n);
                    }
                }
                for (level, n) in &totals.alerts {
                    c.alerts_total.get(&alert(*level)).inc_by(*n);
                }
                for (reason, n) in &totals.rejections {
                    let reason = Reason(reason.as_str());
                    c.order_rejections_total
                        .get(&RejectionLabels { reason })
                        .inc_by(*n);
                }
            }
            EngineEvent::Fill {
                strategy,
                pair,
                side,
                ..
            } => c.trades_total.get(&trade(strategy, pair, *side)).inc(),
            EngineEvent::OrderAcknowledged { latency_seconds } => {
                c.order_latency_seconds.observe(*latency_seconds)
            }
            EngineEvent::OrderFinished { status, reason } => {
                if let Some(l) = terminal(*status) {
                    c.orders_total.get(&l).inc();
                }
                if let Some(reason) = reason {
                    let reason = Reason(reason.as_str());
                    c.order_rejections_total
                        .get(&RejectionLabels { reason })
                        .inc();
                }
            }
            EngineEvent::OrdersActive(n) => c.orders_active.set(*n as f64),
            EngineEvent::Position {
                pair,
                size,
                unrealized_pnl,
            } => {
                c.position_size.get(&of_pair(pair)).set(*size);
                c.position_pnl.get(&of_pair(pair)).set(*unrealized_pnl);
            }
            EngineEvent::PositionCount(n) => c.position_count.set(*n as f64),
            EngineEvent::StrategyStats {
                strategy,
                realized_pnl_by_pair,
                win_rate,
                sharpe,
                calmar,
                equity,
            } => {
                for (pair, pnl) in realized_pnl_by_pair {
                    let labels = StrategyPairLabels {
                        strategy: Strategy(strategy),
                        pair: Pair(pair),
                    };
                    c.trade_pnl.get(&labels).set(*pnl);
                }
                let labels = of_strategy(strategy);
                c.win_rate.get(&labels).set(*win_rate);
                c.sharpe_ratio.get(&labels).set(*sharpe);
                c.calmar_ratio.get(&labels).set(*calmar);
                c.strategy_equity.get(&labels).set(*equity);
            }
            EngineEvent::PortfolioStats {
                equity,
                max_drawdown,
                var_95,
                cvar_95,
            } => {
                c.portfolio_equity.set(*equity);
                c.max_drawdown.set(*max_drawdown);
                c.var_95.set(*var_95);
                c.cvar_95.set(*cvar_95);
            }
            EngineEvent::ExchangeConnection {
                exchange,
                connected,
            } => c
                .exchange_connected
                .get(&ExchangeLabels {
                    exchange: Exchange(exchange),
                })
                .set(if *connected { 1.0 } else { 0.0 }),
            EngineEvent::RiskAlert { level, .. } => c.alerts_total.get(&alert(*level)).inc(),
            EngineEvent::MarketData {
                pair, wall_time_ms, ..
            } => c
                .market_data_last_update_timestamp_seconds
                .get(&of_pair(pair))
                .set(*wall_time_ms as f64 / 1000.0),
            EngineEvent::StrategyState { strategy, running } => c
                .strategy_running
                .get(&of_strategy(strategy))
                .set(if *running { 1.0 } else { 0.0 }),
            EngineEvent::JournalError { .. } => c.journal_write_errors_total.inc(),
            EngineEvent::ClockSlipped => c.engine_clock_slips_total.inc(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zigquant_metrics::{CatalogueConfig, Format};

    /// Overload is counted: every slip of the engine's market clock is one increment.
    #[test]
    fn clock_slips_are_counted() {
        let catalogue = Arc::new(Catalogue::new(CatalogueConfig::default()));
        let sink = MetricsSink::new(catalogue.clone());
        let exposition = || {
            let mut out = Vec::new();
            catalogue.encode(Format::Text, &mut out);
            String::from_utf8_lossy(&out).into_owned()
        };
        assert!(exposition().contains("\nzigquant_engine_clock_slips_total 0\n"));
        sink.on_event(&EngineEvent::ClockSlipped);
        sink.on_event(&EngineEvent::ClockSlipped);
        assert!(exposition().contains("\nzigquant_engine_clock_slips_total 2\n"));
    }
}
