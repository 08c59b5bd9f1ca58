//! The audit trail's vocabulary: on whose behalf an API command changed state, and what came of
//! it. The engine writes an [`AuditEntry`] in the same journal transaction as the change it
//! records, so a change is never journaled without its entry, nor an entry without its change.

use serde::Serialize;

/// Who asked for a command (set by the API from the authenticated request; never a key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditContext {
    /// The name of the API key used.
    pub key_name: String,
    /// The client's address, when known.
    pub client: Option<String>,
    /// The request id the client saw in `X-Request-Id`.
    pub request_id: String,
}

/// The state-changing commands the trail records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    /// `POST /api/v1/orders`.
    PlaceOrder,
    /// `DELETE /api/v1/orders/{id}`.
    CancelOrder,
    /// `POST /api/v1/strategies/{name}/start`.
    StartStrategy,
    /// `POST /api/v1/strategies/{name}/stop`.
    StopStrategy,
}

impl AuditAction {
    /// The stored and listed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlaceOrder => "place_order",
            Self::CancelOrder => "cancel_order",
            Self::StartStrategy => "start_strategy",
            Self::StopStrategy => "stop_strategy",
        }
    }
}

/// One journaled entry of the trail.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuditEntry {
    /// Position in the trail (increasing).
    pub id: u64,
    /// Wall-clock Unix milliseconds of the command.
    pub time_ms: i64,
    /// The name of the API key used.
    pub key_name: String,
    /// The client's address, when known.
    pub client: Option<String>,
    /// The request id.
    pub request_id: String,
    /// What was asked (`place_order`, `cancel_order`, `start_strategy`, `stop_strategy`).
    pub action: String,
    /// What it was asked of: the order id, or the strategy name (`-` when refused before one
    /// existed).
    pub target: String,
    /// What came of it: `ok` with the result (`ok: new`, `ok: rejected (risk_limit)`,
    /// `ok: running`), or `refused: <reason>`.
    pub outcome: String,
}
