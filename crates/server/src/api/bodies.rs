//! The JSON bodies of the API as Rust types: what the handlers serialize and what the OpenAPI
//! document describes (their JSON Schemas are generated from these types, so the two cannot
//! drift). Engine views (orders, strategies, positions, trades, summary) are the engine's own
//! types.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;

/// `GET /health`.
#[derive(Serialize, JsonSchema)]
pub struct Health {
    /// Always `ok`: the process answers.
    pub status: &'static str,
}

/// `GET /ready` (200 when ready, 503 when not, same body).
#[derive(Serialize, JsonSchema)]
pub struct Ready {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// The journal is open and writable.
    pub journal_ok: bool,
    /// Every market feed has delivered a bar recently.
    pub feeds_live: bool,
    /// Why trading is halted, when it is (e.g. a journal failure).
    pub halted: Option<String>,
}

/// A list without pagination.
#[derive(Serialize, JsonSchema)]
pub struct Items<T> {
    /// Every element.
    pub items: Vec<T>,
}

/// One page of a listing.
#[derive(Serialize, JsonSchema)]
pub struct Page<T> {
    /// This page's elements.
    pub items: Vec<T>,
    /// Elements matching the filter, over all pages.
    pub total: u64,
    /// Index of the first element of this page.
    pub offset: usize,
    /// Largest number of elements a page holds (the `limit` asked for, capped by
    /// `api.max_page_size`).
    pub limit: usize,
}

/// Every error: a stable code to match on and a message for people.
#[derive(Serialize, JsonSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Serialize, JsonSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `unauthorized`, `not_found`, `invalid_field`, `unknown_pair`, ...
    pub code: &'static str,
    /// What went wrong, in lower case, naming the field.
    pub message: String,
}

/// A JSON object of any shape (the OpenAPI document itself).
pub struct AnyObject;

impl JsonSchema for AnyObject {
    fn schema_name() -> Cow<'static, str> {
        "AnyObject".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "object" })
    }
}

/// A strategy with its state and statistics.
pub type StrategyView = zigquant_engine::StrategyInfo;
/// An order.
pub type OrderView = zigquant_engine::Order;
/// A position.
pub type PositionView = zigquant_engine::PositionInfo;
/// A fill.
pub type TradeView = zigquant_engine::TradeInfo;
/// An audit-trail entry.
pub type AuditView = zigquant_engine::AuditEntry;

/// `GET /api/v1/metrics`: the engine's summary plus the process uptime.
#[derive(Serialize, JsonSchema)]
pub struct SummaryView {
    /// Lifetime totals and current statistics.
    #[serde(flatten)]
    pub summary: zigquant_engine::Summary,
    /// Wall seconds since the process started.
    pub uptime_seconds: f64,
}
/// `GET /api/v1/equity`.
pub type EquityView = super::live_handlers::EquityBody;
/// `GET /api/v1/alerts`.
pub type AlertsView = super::live_handlers::AlertsBody;
