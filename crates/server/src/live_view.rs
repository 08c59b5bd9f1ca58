//! What the dashboard reads that no snapshot holds: the equity curve over time, the latest risk
//! alerts and a live stream of fills, order changes, alerts and link changes.
//!
//! [`LiveFeed`] is an engine [`EventSink`] next to the metrics sink ([`Tee`]), so it sees every
//! fact right after it is journaled, on the engine thread. It keeps bounded memory only: a fixed
//! number of equity points per scope (older points are merged by [`downsample::min_max`], so
//! peaks and troughs survive), the last [`ALERTS_KEPT`] alerts, and a broadcast channel whose
//! messages are built only while somebody listens. Scopes are the configured strategy names
//! plus `portfolio`: input never creates one. The history starts with the process; lifetime
//! totals stay in the summary (`GET /api/v1/metrics`), which the journal restores.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::{broadcast, watch};
use zigquant_engine::{AlertLevel, EngineEvent, EventSink, OrderSide, OrderStatus, RejectReason};

use crate::downsample::{self, Point};

/// The portfolio's scope name in `GET /api/v1/equity?scope=`.
pub const PORTFOLIO_SCOPE: &str = "portfolio";

/// Equity points kept per scope; when full, the history is merged down to half.
pub const EQUITY_POINTS_KEPT: usize = 2048;

/// Risk alerts kept for `GET /api/v1/alerts`.
pub const ALERTS_KEPT: usize = 200;

/// Concurrent `GET /api/v1/events` streams; more get 503 (each holds a task and a receiver).
pub const MAX_STREAMS: usize = 16;

/// Messages a slow stream may fall behind before it is told to resynchronise.
const STREAM_BUFFER: usize = 256;

/// Sends every engine event to two sinks, in order (metrics first, then the live feed).
pub struct Tee<A, B>(pub A, pub B);

impl<A: EventSink, B: EventSink> EventSink for Tee<A, B> {
    fn on_event(&self, event: &EngineEvent) {
        self.0.on_event(event);
        self.1.on_event(event);
    }
}

/// An `Arc`ed sink as a sink, so the server keeps a handle on the sinks it gives the engine.
pub struct ArcSink<T: ?Sized>(pub Arc<T>);

impl<T: EventSink + ?Sized> EventSink for ArcSink<T> {
    fn on_event(&self, event: &EngineEvent) {
        self.0.on_event(event);
    }
}

/// One retained risk alert.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct AlertRecord {
    /// Severity.
    pub level: AlertLevel,
    /// What happened, for people.
    pub message: String,
    /// Market time of the latest bar when it was raised, Unix ms.
    pub market_time_ms: i64,
    /// Wall clock when it was raised, Unix ms.
    pub wall_time_ms: i64,
}

/// One message of the live stream (`GET /api/v1/events`); `type` names the SSE event.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// A fill.
    Fill {
        /// Trade (fill) id, as in `GET /api/v1/trades`.
        trade_id: u64,
        /// Order it fills.
        order_id: u64,
        /// Strategy.
        strategy: String,
        /// Pair.
        pair: String,
        /// Exchange.
        exchange: String,
        /// Buy or sell.
        side: OrderSide,
        /// Base quantity.
        #[serde(serialize_with = "zigquant_engine::float::f64_or_str")]
        qty: f64,
        /// Price.
        #[serde(serialize_with = "zigquant_engine::float::f64_or_str")]
        price: f64,
        /// Fee, quote currency.
        #[serde(serialize_with = "zigquant_engine::float::f64_or_str")]
        fee: f64,
        /// Market time, Unix ms.
        market_time_ms: i64,
    },
    /// An order reached a terminal state.
    Order {
        /// `filled`, `cancelled` or `rejected`.
        status: OrderStatus,
        /// Why, for `rejected`.
        reason: Option<RejectReason>,
        /// Market time, Unix ms.
        market_time_ms: i64,
    },
    /// A risk alert.
    Alert(AlertRecord),
    /// An exchange link went up or down.
    Link {
        /// Exchange.
        exchange: String,
        /// Up or down.
        connected: bool,
        /// Wall clock, Unix ms.
        wall_time_ms: i64,
    },
    /// A strategy was started or stopped.
    Strategy {
        /// Strategy name.
        strategy: String,
        /// Running or stopped.
        running: bool,
    },
}

impl StreamEvent {
    /// The SSE `event:` name.
    pub fn kind(&self) -> &'static str {
        match self {
            StreamEvent::Fill { .. } => "fill",
            StreamEvent::Order { .. } => "order",
            StreamEvent::Alert(_) => "alert",
            StreamEvent::Link { .. } => "link",
            StreamEvent::Strategy { .. } => "strategy",
        }
    }
}

/// A serialized [`StreamEvent`]: its SSE event name and JSON body.
#[derive(Clone, Debug)]
pub struct StreamMessage {
    /// SSE `event:` name.
    pub kind: &'static str,
    /// JSON of the event.
    pub json: Arc<str>,
}

/// A bounded equity history.
#[derive(Debug, Default)]
struct EquityHistory {
    points: Vec<Point>,
}

impl EquityHistory {
    fn push(&mut self, point: Point) {
        if self.points.len() >= EQUITY_POINTS_KEPT {
            self.points = downsample::min_max(&self.points, EQUITY_POINTS_KEPT / 2);
        }
        self.points.push(point);
    }
}

#[derive(Debug, Default)]
struct LiveState {
    market_time_ms: i64,
    portfolio: EquityHistory,
    strategies: BTreeMap<String, EquityHistory>,
    alerts: VecDeque<AlertRecord>,
    alerts_raised: u64,
}

/// Why an equity query cannot be answered.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EquityQueryError {
    /// The scope is neither `portfolio` nor a configured strategy.
    #[error("unknown scope {0:?}: use \"portfolio\" or a configured strategy name")]
    UnknownScope(String),
}

/// An answer of [`LiveFeed::equity`].
#[derive(Clone, Debug, PartialEq)]
pub struct EquitySeries {
    /// Points kept in the asked range before downsampling.
    pub points_in_range: usize,
    /// The (downsampled) points, in time order.
    pub points: Vec<Point>,
}

/// The live history and stream (see the module documentation).
pub struct LiveFeed {
    state: Mutex<LiveState>,
    events: broadcast::Sender<StreamMessage>,
    closed: watch::Sender<bool>,
    streams: Arc<AtomicUsize>,
}

/// One open `GET /api/v1/events` stream: its receivers; the stream count drops with it.
pub struct Subscription {
    /// Stream messages.
    pub events: broadcast::Receiver<StreamMessage>,
    /// Becomes `true` when the service shuts down: the stream then ends.
    pub closed: watch::Receiver<bool>,
    streams: Arc<AtomicUsize>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.streams.fetch_sub(1, Ordering::AcqRel);
    }
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl LiveFeed {
    /// A feed for these configured strategy names (the only per-strategy scopes).
    pub fn new(strategies: impl IntoIterator<Item = String>) -> Self {
        let state = LiveState {
            strategies: strategies
                .into_iter()
                .map(|s| (s, EquityHistory::default()))
                .collect(),
            ..LiveState::default()
        };
        Self {
            state: Mutex::new(state),
            events: broadcast::channel(STREAM_BUFFER).0,
            closed: watch::channel(false).0,
            streams: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LiveState> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Equity of `scope` since `since_ms` (inclusive), at most `max_points` points.
    pub fn equity(
        &self,
        scope: &str,
        since_ms: Option<i64>,
        max_points: usize,
    ) -> Result<EquitySeries, EquityQueryError> {
        let state = self.lock();
        let history = if scope == PORTFOLIO_SCOPE {
            &state.portfolio
        } else {
            state
                .strategies
                .get(scope)
                .ok_or_else(|| EquityQueryError::UnknownScope(scope.to_string()))?
        };
        let from = since_ms.map_or(0, |since| history.points.partition_point(|p| p.0 < since));
        let range = &history.points[from..];
        Ok(EquitySeries {
            points_in_range: range.len(),
            points: downsample::min_max(range, max_points),
        })
    }

    /// The latest `limit` alerts, newest first, and how many were raised since start.
    pub fn alerts(&self, limit: usize) -> (Vec<AlertRecord>, u64) {
        let state = self.lock();
        let items = state.alerts.iter().rev().take(limit).cloned().collect();
        (items, state.alerts_raised)
    }

    /// Opens a stream, or `None` when [`MAX_STREAMS`] are open already.
    pub fn subscribe(&self) -> Option<Subscription> {
        let open = self.streams.fetch_add(1, Ordering::AcqRel);
        let subscription = Subscription {
            events: self.events.subscribe(),
            closed: self.closed.subscribe(),
            streams: self.streams.clone(),
        };
        // Dropping it undoes the increment.
        (open < MAX_STREAMS).then_some(subscription)
    }

    /// Ends every open stream (at shutdown, so graceful shutdown does not wait on them).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    fn publish(&self, make: impl FnOnce() -> StreamEvent) {
        // Nobody listening: build nothing.
        if self.events.receiver_count() == 0 {
            return;
        }
        let event = make();
        if let Ok(json) = serde_json::to_string(&event) {
            let _ = self.events.send(StreamMessage {
                kind: event.kind(),
                json: json.into(),
            });
        }
    }
}

impl EventSink for LiveFeed {
    fn on_event(&self, event: &EngineEvent) {
        match event {
            EngineEvent::MarketData { time_ms, .. } => {
                let mut state = self.lock();
                state.market_time_ms = state.market_time_ms.max(*time_ms);
            }
            EngineEvent::PortfolioStats { equity, .. } => {
                let mut state = self.lock();
                let t = state.market_time_ms;
                if t > 0 {
                    state.portfolio.push((t, *equity));
                }
            }
            EngineEvent::StrategyStats {
                strategy, equity, ..
            } => {
                let mut state = self.lock();
                let t = state.market_time_ms;
                if let (true, Some(history)) = (t > 0, state.strategies.get_mut(strategy)) {
                    history.push((t, *equity));
                }
            }
            EngineEvent::RiskAlert { level, message } => {
                let record = {
                    let mut state = self.lock();
                    let record = AlertRecord {
                        level: *level,
                        message: message.clone(),
                        market_time_ms: state.market_time_ms,
                        wall_time_ms: wall_ms(),
                    };
                    if state.alerts.len() >= ALERTS_KEPT {
                        state.alerts.pop_front();
                    }
                    state.alerts.push_back(record.clone());
                    state.alerts_raised += 1;
                    record
                };
                self.publish(|| StreamEvent::Alert(record));
            }
            EngineEvent::Fill {
                trade_id,
                order_id,
                strategy,
                pair,
                exchange,
                side,
                qty,
                price,
                fee,
            } => self.publish(|| StreamEvent::Fill {
                trade_id: *trade_id,
                order_id: *order_id,
                strategy: strategy.clone(),
                pair: pair.clone(),
                exchange: exchange.clone(),
                side: *side,
                qty: *qty,
                price: *price,
                fee: *fee,
                market_time_ms: self.lock().market_time_ms,
            }),
            EngineEvent::OrderFinished { status, reason } => self.publish(|| StreamEvent::Order {
                status: *status,
                reason: *reason,
                market_time_ms: self.lock().market_time_ms,
            }),
            EngineEvent::ExchangeConnection {
                exchange,
                connected,
            } => self.publish(|| StreamEvent::Link {
                exchange: exchange.clone(),
                connected: *connected,
                wall_time_ms: wall_ms(),
            }),
            EngineEvent::StrategyState { strategy, running } => {
                self.publish(|| StreamEvent::Strategy {
                    strategy: strategy.clone(),
                    running: *running,
                })
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(feed: &LiveFeed, t: i64) {
        feed.on_event(&EngineEvent::MarketData {
            pair: "BTC-USDT".into(),
            time_ms: t,
            wall_time_ms: 0,
        });
    }

    fn portfolio(feed: &LiveFeed, equity: f64) {
        feed.on_event(&EngineEvent::PortfolioStats {
            equity,
            max_drawdown: 0.0,
            var_95: 0.0,
            cvar_95: 0.0,
        });
    }

    #[test]
    fn equity_is_kept_per_scope_and_filtered_by_time() {
        let feed = LiveFeed::new(["sma_cross".to_string()]);
        portfolio(&feed, 1.0); // before the first bar: no market time, not kept
        for t in 1..=10 {
            bar(&feed, t * 1000);
            portfolio(&feed, 100.0 + t as f64);
        }
        feed.on_event(&EngineEvent::StrategyStats {
            strategy: "unknown".into(),
            realized_pnl_by_pair: vec![],
            win_rate: 0.0,
            sharpe: 0.0,
            calmar: 0.0,
            equity: 5.0,
        });
        let all = feed.equity(PORTFOLIO_SCOPE, None, 100).expect("portfolio");
        assert_eq!(all.points_in_range, 10);
        assert_eq!(all.points[0], (1000, 101.0));
        let recent = feed
            .equity(PORTFOLIO_SCOPE, Some(8000), 100)
            .expect("since");
        assert_eq!(
            recent.points,
            vec![(8000, 108.0), (9000, 109.0), (10000, 110.0)]
        );
        assert_eq!(
            feed.equity("sma_cross", None, 10).expect("strategy").points,
            vec![]
        );
        assert_eq!(
            feed.equity("unknown", None, 10),
            Err(EquityQueryError::UnknownScope("unknown".into()))
        );
    }

    #[test]
    fn memory_stays_bounded_and_extremes_survive() {
        let feed = LiveFeed::new([]);
        for t in 1..=(EQUITY_POINTS_KEPT as i64 * 5) {
            bar(&feed, t);
            portfolio(&feed, if t == 777 { 1.0 } else { 100.0 });
        }
        let all = feed.equity(PORTFOLIO_SCOPE, None, usize::MAX).expect("all");
        assert!(all.points_in_range <= EQUITY_POINTS_KEPT);
        assert!(all.points.contains(&(777, 1.0)), "the trough survives");
    }

    #[test]
    fn alerts_are_bounded_newest_first() {
        let feed = LiveFeed::new([]);
        for i in 0..(ALERTS_KEPT + 5) {
            feed.on_event(&EngineEvent::RiskAlert {
                level: AlertLevel::Warning,
                message: format!("alert {i}"),
            });
        }
        let (items, raised) = feed.alerts(3);
        assert_eq!(raised, (ALERTS_KEPT + 5) as u64);
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].message, format!("alert {}", ALERTS_KEPT + 4));
        assert_eq!(feed.alerts(usize::MAX).0.len(), ALERTS_KEPT);
    }

    #[test]
    fn streams_are_limited_and_see_events() {
        let feed = LiveFeed::new([]);
        let mut open: Vec<Subscription> = (0..MAX_STREAMS)
            .map(|_| feed.subscribe().expect("below the limit"))
            .collect();
        assert!(feed.subscribe().is_none(), "one too many");
        open.pop();
        let mut again = feed.subscribe().expect("a slot was freed");
        feed.on_event(&EngineEvent::ExchangeConnection {
            exchange: "binance".into(),
            connected: false,
        });
        let message = again.events.try_recv().expect("published");
        assert_eq!(message.kind, "link");
        assert!(
            message.json.contains("\"connected\":false"),
            "{}",
            message.json
        );
        feed.close();
        assert!(*again.closed.borrow());
    }
}
