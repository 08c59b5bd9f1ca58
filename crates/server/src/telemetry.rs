//! The bridge from engine events to the metric catalogue.
//!
//! The engine calls [`MetricsSink::on_event`] synchronously right after each fact, so a scrape
//! taken after the event returns already sees it: the event-to-metric delay is the cost of one
//! label lookup and one atomic update, far below the 1 ms the design asks for. Fills and order
//! acknowledgements also leave their ids as exemplars (docs/exemplars.md).

use std::sync::Arc;

use zigquant_engine::{AlertLevel, EngineEvent, EventSink, OrderSide, OrderStatus};
use zigquant_live::{ErrorReason, LiveEvent, MessageKind};
use zigquant_metrics::labels::{
    AlertLabels, Exchange, ExchangeLabels, Level, MarketDataErrorLabels, MarketDataKind,
    MarketDataMessageLabels, MarketDataReason, OrderStatusLabels, Pair, PairLabels, Reason,
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

/// The `kind` label of a live feed message (exhaustive: a new kind fails to compile here).
fn message_kind(k: MessageKind) -> MarketDataKind {
    match k {
        MessageKind::Candle => MarketDataKind::Candle,
        MessageKind::CandlePartial => MarketDataKind::CandlePartial,
        MessageKind::Pong => MarketDataKind::Pong,
        MessageKind::Ping => MarketDataKind::Ping,
        MessageKind::SubscriptionResponse => MarketDataKind::SubscriptionResponse,
        MessageKind::ServerShutdown => MarketDataKind::ServerShutdown,
        MessageKind::Unknown => MarketDataKind::Unknown,
        MessageKind::Malformed => MarketDataKind::Malformed,
    }
}

/// The `reason` label of a live feed error.
fn error_reason(r: ErrorReason) -> MarketDataReason {
    match r {
        ErrorReason::Malformed => MarketDataReason::Malformed,
        ErrorReason::Duplicate => MarketDataReason::Duplicate,
        ErrorReason::OutOfOrder => MarketDataReason::OutOfOrder,
        ErrorReason::Gap => MarketDataReason::Gap,
        ErrorReason::RestFailed => MarketDataReason::RestFailed,
        ErrorReason::HeartbeatTimeout => MarketDataReason::HeartbeatTimeout,
    }
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

    /// Marks `pair`'s market data as seen at `unix_secs` (a live candle message, closed or not).
    pub fn market_data_seen(&self, pair: &str, unix_secs: f64) {
        self.catalogue
            .market_data_last_update_timestamp_seconds
            .get(&of_pair(pair))
            .set(unix_secs);
    }

    /// Records a live feed's counts (`zigquant_market_data_*`). Candles and link changes are the
    /// engine's to act on: they reach the metrics as engine events (market data timestamp,
    /// `zigquant_exchange_connected`) once the engine has applied them.
    pub fn on_live_event(&self, event: &LiveEvent) {
        let c = &self.catalogue;
        match event {
            LiveEvent::Message { venue, kind } => c
                .market_data_messages_total
                .get(&MarketDataMessageLabels {
                    exchange: Exchange(venue.as_str()),
                    kind: message_kind(*kind),
                })
                .inc(),
            LiveEvent::Error { venue, reason } => c
                .market_data_errors_total
                .get(&MarketDataErrorLabels {
                    exchange: Exchange(venue.as_str()),
                    reason: error_reason(*reason),
                })
                .inc(),
            LiveEvent::Reconnect { venue } => c
                .market_data_reconnects_total
                .get(&ExchangeLabels {
                    exchange: Exchange(venue.as_str()),
                })
                .inc(),
            LiveEvent::Delay { venue, seconds } => c
                .market_data_delay_seconds
                .get(&ExchangeLabels {
                    exchange: Exchange(venue.as_str()),
                })
                .observe(*seconds),
            LiveEvent::Candle { .. } | LiveEvent::Link { .. } | LiveEvent::Update { .. } => {}
        }
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
            // Exemplars (OpenMetrics and protobuf scrapes; docs/exemplars.md): the fill's id on
            // the trade counter, the order's id and exchange on the latency bucket.
            EngineEvent::Fill {
                trade_id,
                strategy,
                pair,
                side,
                ..
            } => {
                let mut buf = [0u8; 20];
                c.trades_total
                    .get(&trade(strategy, pair, *side))
                    .inc_with_exemplar(&[("trade_id", decimal(*trade_id, &mut buf))]);
            }
            EngineEvent::OrderAcknowledged {
                order_id,
                exchange,
                latency_seconds,
            } => {
                let mut buf = [0u8; 20];
                c.order_latency_seconds.observe_with_exemplar(
                    *latency_seconds,
                    &[
                        ("order_id", decimal(*order_id, &mut buf)),
                        ("exchange", exchange),
                    ],
                );
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

/// `n` in decimal, written into `buf` (an id for an exemplar label, without an allocation per
/// fill or order).
fn decimal(n: u64, buf: &mut [u8; 20]) -> &str {
    use std::io::Write as _;
    let mut rest = &mut buf[..];
    // u64::MAX has 20 digits: the buffer always holds it.
    let _ = write!(rest, "{n}");
    let len = 20 - rest.len();
    std::str::from_utf8(&buf[..len]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_written_in_decimal_without_allocating() {
        let mut buf = [0u8; 20];
        assert_eq!(decimal(0, &mut buf), "0");
        assert_eq!(decimal(42, &mut buf), "42");
        assert_eq!(decimal(u64::MAX, &mut buf), "18446744073709551615");
    }
    use zigquant_live::Venue;
    use zigquant_metrics::{CatalogueConfig, Format};

    #[test]
    fn live_feed_counts_reach_their_families() {
        let catalogue = Arc::new(Catalogue::new(CatalogueConfig {
            exchanges: vec!["binance".into(), "hyperliquid".into()],
            ..CatalogueConfig::default()
        }));
        let sink = MetricsSink::new(catalogue.clone());
        let venue = Venue::Binance;
        sink.on_live_event(&LiveEvent::Message {
            venue,
            kind: MessageKind::CandlePartial,
        });
        sink.on_live_event(&LiveEvent::Error {
            venue,
            reason: ErrorReason::OutOfOrder,
        });
        sink.on_live_event(&LiveEvent::Reconnect { venue });
        sink.on_live_event(&LiveEvent::Delay {
            venue,
            seconds: 0.02,
        });
        let mut out = Vec::new();
        catalogue.encode(Format::Text, &mut out);
        let text = String::from_utf8_lossy(&out);
        for line in [
            "zigquant_market_data_messages_total{exchange=\"binance\",kind=\"candle_partial\"} 1\n",
            "zigquant_market_data_errors_total{exchange=\"binance\",reason=\"out_of_order\"} 1\n",
            "zigquant_market_data_reconnects_total{exchange=\"binance\"} 1\n",
            "zigquant_market_data_delay_seconds_bucket{exchange=\"binance\",le=\"0.025\"} 1\n",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }

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

    /// The ids of the last order acknowledged and the last fill are the exemplars of the order
    /// latency bucket and the trade counter (OpenMetrics), and never reach text 0.0.4.
    #[test]
    fn order_and_trade_ids_become_exemplars() {
        let catalogue = Arc::new(Catalogue::new(CatalogueConfig {
            strategies: vec!["sma".into()],
            pairs: vec!["BTC-USDT".into()],
            exchanges: vec!["paper".into()],
            ..CatalogueConfig::default()
        }));
        let sink = MetricsSink::new(catalogue.clone());
        sink.on_event(&EngineEvent::OrderAcknowledged {
            order_id: 42,
            exchange: "paper".into(),
            latency_seconds: 0.03,
        });
        sink.on_event(&EngineEvent::Fill {
            trade_id: 7,
            order_id: 42,
            strategy: "sma".into(),
            pair: "BTC-USDT".into(),
            exchange: "paper".into(),
            side: zigquant_engine::OrderSide::Buy,
            qty: 1.0,
            price: 100.0,
            fee: 0.1,
        });
        let encode = |format| {
            let mut out = Vec::new();
            catalogue.encode(format, &mut out);
            String::from_utf8_lossy(&out).into_owned()
        };
        let om = encode(Format::OpenMetrics);
        assert!(
            om.contains("zigquant_order_latency_seconds_bucket{le=\"0.05\"} 1 # {order_id=\"42\",exchange=\"paper\"} 0.03 "),
            "{om}"
        );
        assert!(
            om.contains("zigquant_trades_total{strategy=\"sma\",pair=\"BTC-USDT\",side=\"buy\"} 1 # {trade_id=\"7\"} 1 "),
            "{om}"
        );
        assert!(!encode(Format::Text).contains(" # {"));
    }
}
