//! Orders as the API and the journal see them: requests, lifecycle states, reject reasons,
//! filters and pages.

use serde::{Deserialize, Serialize};

/// Buy or sell, as it appears in the API, the journal and the `side` metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderSide {
    /// Buys base.
    Buy,
    /// Sells base.
    Sell,
}

impl OrderSide {
    /// The label value: `buy` / `sell`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderSide::Buy => "buy",
            OrderSide::Sell => "sell",
        }
    }

    /// `+1` for a buy, `-1` for a sell.
    pub fn sign(self) -> f64 {
        match self {
            OrderSide::Buy => 1.0,
            OrderSide::Sell => -1.0,
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "buy" => Some(OrderSide::Buy),
            "sell" => Some(OrderSide::Sell),
            _ => None,
        }
    }

    pub(crate) fn to_analytics(self) -> zigquant_analytics::trades::Side {
        match self {
            OrderSide::Buy => zigquant_analytics::trades::Side::Buy,
            OrderSide::Sell => zigquant_analytics::trades::Side::Sell,
        }
    }
}

/// Market or limit.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OrderKind {
    /// Fills in full at the last price when it reaches the exchange.
    Market,
    /// Fills when the market trades through `price`; cancelled after `time_in_force_secs`
    /// (wall seconds at the configured clock speed) if given.
    Limit {
        /// Limit price, quote per base.
        price: f64,
        /// Good for this many wall seconds; `None` = good till cancelled.
        #[serde(default)]
        time_in_force_secs: Option<f64>,
    },
}

/// A new order from the API (or built internally for a strategy).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    /// Strategy to book it under; `None` = `manual`.
    #[serde(default)]
    pub strategy: Option<String>,
    /// Configured pair.
    pub pair: String,
    /// Buy or sell.
    pub side: OrderSide,
    /// Market or limit.
    pub kind: OrderKind,
    /// Base quantity, finite and > 0.
    pub qty: f64,
    /// Configured exchange; `None` = the strategy's exchange (or the first one).
    #[serde(default)]
    pub exchange: Option<String>,
}

/// Where an order is in its life. `open` covers both "in flight" and "resting on the book".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Sent or resting; not final.
    Open,
    /// Completely filled (final).
    Filled,
    /// Cancelled by a user or by its time in force (final).
    Cancelled,
    /// Refused by the engine's risk checks or by the exchange (final); see the reason.
    Rejected,
}

impl OrderStatus {
    /// The label value: `open`, `filled`, `cancelled`, `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Open => "open",
            OrderStatus::Filled => "filled",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Rejected => "rejected",
        }
    }

    /// Whether no further change can happen.
    pub fn is_final(self) -> bool {
        !matches!(self, OrderStatus::Open)
    }

    /// The three terminal states, in catalogue order.
    pub const TERMINAL: [OrderStatus; 3] = [
        OrderStatus::Filled,
        OrderStatus::Cancelled,
        OrderStatus::Rejected,
    ];

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(OrderStatus::Open),
            "filled" => Some(OrderStatus::Filled),
            "cancelled" => Some(OrderStatus::Cancelled),
            "rejected" => Some(OrderStatus::Rejected),
            _ => None,
        }
    }
}

/// Why an order was rejected (a bounded set, usable as a label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Not enough cash (buys) or equity (shorts) in the strategy's account at the fill price.
    InsufficientBalance,
    /// Quantity below the pair's minimum.
    InvalidQuantity,
    /// The exchange link was down when the order was sent or arrived.
    ExchangeDisconnected,
    /// The pre-trade position limit would be exceeded.
    RiskLimit,
    /// The pair is not traded (kept for completeness; the API refuses unknown pairs earlier).
    UnknownPair,
    /// Anything else, e.g. trading halted after a journal failure.
    Other,
}

impl RejectReason {
    /// Every reason, for pre-registering label values.
    pub const ALL: [RejectReason; 6] = [
        RejectReason::InsufficientBalance,
        RejectReason::InvalidQuantity,
        RejectReason::ExchangeDisconnected,
        RejectReason::RiskLimit,
        RejectReason::UnknownPair,
        RejectReason::Other,
    ];

    /// The label value, e.g. `insufficient_balance`.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::InsufficientBalance => "insufficient_balance",
            RejectReason::InvalidQuantity => "invalid_quantity",
            RejectReason::ExchangeDisconnected => "exchange_disconnected",
            RejectReason::RiskLimit => "risk_limit",
            RejectReason::UnknownPair => "unknown_pair",
            RejectReason::Other => "other",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// One execution of an order.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OrderFill {
    /// Journal id of the fill (global, increasing).
    pub id: u64,
    /// Base quantity.
    pub qty: f64,
    /// Price, quote per base.
    pub price: f64,
    /// Fee, quote currency.
    pub fee: f64,
    /// Market time, Unix ms.
    pub time_ms: i64,
}

/// An order and everything that happened to it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Order {
    /// Engine-assigned id (increasing, survives restarts).
    pub id: u64,
    /// Strategy it is booked under.
    pub strategy: String,
    /// Pair.
    pub pair: String,
    /// Exchange.
    pub exchange: String,
    /// Buy or sell.
    pub side: OrderSide,
    /// Market or limit.
    pub kind: OrderKind,
    /// Requested base quantity.
    pub qty: f64,
    /// Base quantity filled so far.
    pub filled_qty: f64,
    /// Volume-weighted fill price, if anything filled.
    pub avg_fill_price: Option<f64>,
    /// Lifecycle state.
    pub status: OrderStatus,
    /// Why it was rejected (only for `rejected`).
    pub reject_reason: Option<RejectReason>,
    /// Market time of submission, Unix ms.
    pub created_ms: i64,
    /// Market time of the last change, Unix ms.
    pub updated_ms: i64,
    /// Market time the exchange acknowledged (or filled) it, Unix ms.
    pub acknowledged_ms: Option<i64>,
    /// Executions, oldest first.
    pub fills: Vec<OrderFill>,
}

/// Query for `EngineHandle::orders`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderFilter {
    /// Only this status.
    pub status: Option<OrderStatus>,
    /// Only this strategy.
    pub strategy: Option<String>,
    /// Only this pair.
    pub pair: Option<String>,
    /// Skip this many (newest first).
    pub offset: usize,
    /// At most this many (0 = 100).
    pub limit: usize,
}

/// One page of a listing and the total number of matches.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Matches in total, across all pages.
    pub total: u64,
}

/// Why an API order or cancel was refused before reaching an exchange (the API answers 4xx).
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum OrderError {
    /// The pair is not configured.
    #[error("unknown pair {0:?}")]
    UnknownPair(String),
    /// The strategy is not configured.
    #[error("unknown strategy {0:?}")]
    UnknownStrategy(String),
    /// The exchange is not configured.
    #[error("unknown exchange {0:?}")]
    UnknownExchange(String),
    /// Quantity not finite or not > 0.
    #[error("invalid quantity: {0}")]
    InvalidQuantity(String),
    /// Limit price or time in force not finite or not > 0.
    #[error("invalid price or time in force: {0}")]
    InvalidPrice(String),
    /// The engine stopped trading (journal failure); nothing is accepted.
    #[error("trading halted: {0}")]
    TradingHalted(String),
    /// No order with this id.
    #[error("order {0} not found")]
    NotFound(u64),
    /// The order is already filled, cancelled or rejected.
    #[error("order {id} is already {}", status.as_str())]
    AlreadyFinal {
        /// The order.
        id: u64,
        /// Its final state.
        status: OrderStatus,
    },
    /// The engine could not answer: it stopped, or the journal could not be read. The domain
    /// does not know the engine's error type (that would be a module cycle), so the engine
    /// renders its `EngineError` here.
    #[error("{0}")]
    Unavailable(String),
}
