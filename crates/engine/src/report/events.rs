//! What the engine tells the outside world, synchronously, right after each fact: the metrics
//! layer implements [`EventSink`] and turns these into Prometheus series. Every label-like value
//! (strategy, pair, exchange) comes from the configuration, never from free input.

use serde::Serialize;

use crate::domain::alerts::AlertLevel;
use crate::domain::orders::{OrderSide, OrderStatus, RejectReason};

/// Lifetime totals read from the journal at start, so counters continue across restarts.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RestoredTotals {
    /// Fills per (strategy, pair, side).
    pub fills: Vec<(String, String, OrderSide, u64)>,
    /// Orders per terminal status (filled, cancelled, rejected).
    pub orders: Vec<(OrderStatus, u64)>,
    /// Alerts per level.
    pub alerts: Vec<(AlertLevel, u64)>,
    /// Rejected orders per reason.
    pub rejections: Vec<(RejectReason, u64)>,
}

/// One fact from the engine. Emitted on the engine thread, after the journal commit that makes
/// it durable (a fill is never reported before it is on disk).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum EngineEvent {
    /// Emitted once at start, before anything else: lifetime totals from the journal.
    Restored(RestoredTotals),
    /// A fill (one increment of `zigquant_trades_total`).
    Fill {
        /// Journal id of the fill (the trade id, `trade_id` exemplar of `zigquant_trades_total`).
        trade_id: u64,
        /// Id of the order it fills.
        order_id: u64,
        /// Strategy label.
        strategy: String,
        /// Pair label.
        pair: String,
        /// Exchange label.
        exchange: String,
        /// Buy or sell.
        side: OrderSide,
        /// Base quantity.
        qty: f64,
        /// Price.
        price: f64,
        /// Fee, quote currency.
        fee: f64,
    },
    /// An exchange acknowledged or filled an order: latency from submit, simulated seconds.
    OrderAcknowledged {
        /// The order (`order_id` exemplar of `zigquant_order_latency_seconds`; resolves through
        /// `GET /api/v1/orders/{id}`).
        order_id: u64,
        /// The exchange it was sent to (`exchange` exemplar label).
        exchange: String,
        /// Submit -> ack/fill, seconds of market time.
        latency_seconds: f64,
    },
    /// An order reached a terminal state.
    OrderFinished {
        /// `filled`, `cancelled` or `rejected`.
        status: OrderStatus,
        /// Set for `rejected`.
        reason: Option<RejectReason>,
    },
    /// Orders open right now.
    OrdersActive(usize),
    /// Net position of one pair across strategies.
    Position {
        /// Pair label.
        pair: String,
        /// Signed base quantity.
        size: f64,
        /// Unrealized PnL at the last price.
        unrealized_pnl: f64,
    },
    /// Pairs with a non-zero net position.
    PositionCount(usize),
    /// Per-strategy statistics, after each bar of its pair and after each of its fills.
    StrategyStats {
        /// Strategy label.
        strategy: String,
        /// Cumulative realized PnL (net of fees) per pair it has traded.
        realized_pnl_by_pair: Vec<(String, f64)>,
        /// Winning closed round trips / closed round trips (NaN when none).
        win_rate: f64,
        /// Annualized Sharpe of its mark-to-market equity (docs/statistics.md §1, §9).
        sharpe: f64,
        /// Calmar of its mark-to-market equity (§3).
        calmar: f64,
        /// Mark-to-market equity now.
        equity: f64,
    },
    /// Portfolio statistics (mark-to-market equity sampled per bar, §9).
    PortfolioStats {
        /// Portfolio equity now.
        equity: f64,
        /// Max drawdown, positive fraction.
        max_drawdown: f64,
        /// Historical VaR 95 %, positive loss fraction.
        var_95: f64,
        /// CVaR 95 %, positive loss fraction.
        cvar_95: f64,
    },
    /// An exchange link went up or down (also emitted for every exchange at start).
    ExchangeConnection {
        /// Exchange label.
        exchange: String,
        /// Up or down.
        connected: bool,
    },
    /// A risk alert (also logged with `tracing`, counted in the journal).
    RiskAlert {
        /// Severity.
        level: AlertLevel,
        /// Human-readable explanation.
        message: String,
    },
    /// A bar arrived.
    MarketData {
        /// Pair label.
        pair: String,
        /// Bar open time, market Unix ms.
        time_ms: i64,
        /// Wall clock when it was processed, Unix ms (for staleness).
        wall_time_ms: i64,
    },
    /// A strategy was started or stopped (also emitted for every strategy at start).
    StrategyState {
        /// Strategy label.
        strategy: String,
        /// Running or stopped.
        running: bool,
    },
    /// Overload: the engine fell too far behind the wall clock and the paced market clock
    /// slipped (the rest of the simulation moves later; nothing is skipped).
    ClockSlipped,
    /// The journal failed; the engine has stopped trading.
    JournalError {
        /// What failed.
        message: String,
    },
}

/// Receives engine events. Called synchronously on the engine thread, so keep it cheap, and
/// never call the `EngineHandle` from it: the engine would wait for itself.
pub trait EventSink: Send + Sync {
    /// Handles one event.
    fn on_event(&self, event: &EngineEvent);
}

/// A sink that drops everything (tests, tools).
#[derive(Clone, Copy, Debug, Default)]
pub struct NullSink;

impl EventSink for NullSink {
    fn on_event(&self, _event: &EngineEvent) {}
}

/// A sink that records every event (tests).
#[derive(Debug, Default)]
pub struct RecordingSink {
    events: std::sync::Mutex<Vec<EngineEvent>>,
}

impl RecordingSink {
    /// A copy of everything received so far (empty if the lock is poisoned).
    pub fn events(&self) -> Vec<EngineEvent> {
        self.events.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl EventSink for RecordingSink {
    fn on_event(&self, event: &EngineEvent) {
        if let Ok(mut v) = self.events.lock() {
            v.push(event.clone());
        }
    }
}
