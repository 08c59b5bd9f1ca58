//! Read-only views the API returns as JSON. Undefined statistics serialize as `"NaN"`,
//! `"+Inf"` or `"-Inf"` strings (see [`crate::domain::float`]).

use serde::Serialize;

use crate::domain::float::{f64_or_str, opt_f64_or_str};
#[cfg(feature = "schema")]
use crate::domain::float::{metric_number_schema, opt_metric_number_schema};
use crate::domain::orders::OrderSide;
use crate::state::stats::StrategyStats;
use crate::strategy::StrategyParams;

/// One strategy instance and how it is doing.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StrategyInfo {
    /// Instance name.
    pub name: String,
    /// `sma_cross`, `mean_reversion`, `noise` or `manual`.
    pub kind: String,
    /// Pair it trades (`None` for `noise` and `manual`, which trade any).
    pub pair: Option<String>,
    /// Exchange it sends to (`None` for `noise` and `manual`).
    pub exchange: Option<String>,
    /// Whether it acts on bars.
    pub running: bool,
    /// Its parameters (rule strategies only).
    pub params: Option<StrategyParams>,
    /// Realized PnL of closed round trips, net of fees.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub realized_pnl: f64,
    /// Win rate of closed round trips (NaN when none).
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub win_rate: f64,
    /// Closed round trips.
    pub closed_trades: u64,
    /// Sharpe of its mark-to-market equity.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub sharpe: f64,
    /// Calmar of its mark-to-market equity.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub calmar: f64,
    /// Mark-to-market equity.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub equity: f64,
    /// Cash balance.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub cash: f64,
    /// Fees paid in total.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub fees_paid: f64,
}

impl StrategyInfo {
    /// The view of one strategy slot and its statistics.
    pub fn new(
        name: String,
        kind: String,
        pair: Option<String>,
        exchange: Option<String>,
        running: bool,
        params: Option<StrategyParams>,
        s: StrategyStats,
    ) -> Self {
        Self {
            name,
            kind,
            pair,
            exchange,
            running,
            params,
            realized_pnl: s.realized_pnl,
            win_rate: s.win_rate,
            closed_trades: s.closed_trades,
            sharpe: s.sharpe,
            calmar: s.calmar,
            equity: s.equity,
            cash: s.cash,
            fees_paid: s.fees_paid,
        }
    }
}

/// One strategy's share of a pair's position.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StrategyPosition {
    /// Strategy name.
    pub strategy: String,
    /// Signed base quantity.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub size: f64,
    /// Average entry price of the open lots.
    #[serde(serialize_with = "opt_f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "opt_metric_number_schema"))]
    pub avg_entry_price: Option<f64>,
    /// Unrealized PnL at the last price.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub unrealized_pnl: f64,
}

/// The net position of one pair.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PositionInfo {
    /// Pair.
    pub pair: String,
    /// Signed base quantity across strategies.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub size: f64,
    /// Last price.
    #[serde(serialize_with = "opt_f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "opt_metric_number_schema"))]
    pub mark_price: Option<f64>,
    /// Unrealized PnL across strategies.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub unrealized_pnl: f64,
    /// Per strategy, non-flat ones only.
    pub by_strategy: Vec<StrategyPosition>,
}

/// One journaled fill: what the trades endpoint lists and what a restart replays.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TradeInfo {
    /// Fill id.
    pub id: u64,
    /// Order it belongs to.
    pub order_id: u64,
    /// Strategy.
    pub strategy: String,
    /// Pair.
    pub pair: String,
    /// Exchange.
    pub exchange: String,
    /// Buy or sell.
    pub side: OrderSide,
    /// Base quantity.
    pub qty: f64,
    /// Price.
    pub price: f64,
    /// Fee, quote currency.
    pub fee: f64,
    /// Market time, Unix ms.
    pub time_ms: i64,
}

/// Orders per terminal state (lifetime, from the journal) and open now.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderTotals {
    /// Filled orders.
    pub filled: u64,
    /// Cancelled orders.
    pub cancelled: u64,
    /// Rejected orders.
    pub rejected: u64,
    /// Open right now.
    pub open: u64,
}

/// Per-strategy line of the summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StrategySummary {
    /// Strategy name.
    pub name: String,
    /// Realized PnL, net of fees.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub realized_pnl: f64,
    /// Win rate (NaN when no closed trades).
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub win_rate: f64,
    /// Sharpe of its equity.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub sharpe: f64,
    /// Calmar of its equity.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub calmar: f64,
    /// Mark-to-market equity.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub equity: f64,
    /// Closed round trips.
    pub closed_trades: u64,
}

impl StrategySummary {
    /// The summary line of one strategy.
    pub fn new(name: String, s: StrategyStats) -> Self {
        Self {
            name,
            realized_pnl: s.realized_pnl,
            win_rate: s.win_rate,
            sharpe: s.sharpe,
            calmar: s.calmar,
            equity: s.equity,
            closed_trades: s.closed_trades,
        }
    }
}

/// The JSON metrics summary: lifetime totals and current statistics.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Summary {
    /// Fills, lifetime.
    pub trades_total: u64,
    /// Orders per state, lifetime.
    pub orders_total: OrderTotals,
    /// Alerts raised, lifetime, per level (`info`, `warning`, `critical`).
    pub alerts_total: std::collections::BTreeMap<String, u64>,
    /// Portfolio mark-to-market equity.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub equity: f64,
    /// Portfolio max drawdown, positive fraction.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub max_drawdown: f64,
    /// Portfolio VaR 95 %, positive loss fraction.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub var_95: f64,
    /// Portfolio CVaR 95 %, positive loss fraction.
    #[serde(serialize_with = "f64_or_str")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "metric_number_schema"))]
    pub cvar_95: f64,
    /// Equity samples behind the portfolio statistics.
    pub equity_samples: u64,
    /// Per strategy.
    pub strategies: Vec<StrategySummary>,
}

/// Liveness facts for the health endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Health {
    /// The last journal write succeeded.
    pub journal_ok: bool,
    /// Every feed delivered a bar recently (and none has ended).
    pub feeds_live: bool,
    /// Trading halted (journal failure); the reason.
    pub halted: Option<String>,
}

/// Progress of the simulation (tests and tools).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Bar ticks processed in this run.
    pub ticks: u64,
    /// Nothing left to simulate: feeds ended and no queued event can change anything (or
    /// trading is halted).
    pub idle: bool,
    /// Bar ticks at which an account's §9 equity differed from cash + position value
    /// (an accounting bug; always 0).
    pub identity_violations: u64,
    /// Events waiting in the simulation's queue (bounded under load: a growing queue means
    /// the engine is falling behind).
    pub queued_events: usize,
    /// Orders open right now (the only orders the engine keeps in memory).
    pub open_orders: usize,
    /// Market ms the next queued event trails the wall-paced clock (0 unpaced or on time).
    pub behind_ms: i64,
    /// Times the paced market clock slipped because the engine could not keep up.
    pub clock_slips: u64,
    /// Market ms lost to those slips in this run.
    pub clock_slipped_ms: i64,
}
