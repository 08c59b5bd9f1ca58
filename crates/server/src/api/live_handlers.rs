//! `GET /api/v1/equity`, `GET /api/v1/alerts` and the `GET /api/v1/events` stream: the views
//! the dashboard needs beyond the snapshots, read from [`crate::live_view::LiveFeed`].

use std::borrow::Cow;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Serialize, Serializer};
use tokio::sync::broadcast::error::RecvError;

use super::error::ApiError;
use super::handlers::page_limit;
use super::SharedState;
use crate::live_view::{AlertRecord, EquityQueryError, Subscription, PORTFOLIO_SCOPE};

/// Points `GET /api/v1/equity` returns when `max_points` is not given.
pub const DEFAULT_MAX_POINTS: usize = 1000;

/// Largest `max_points` accepted.
pub const MAX_POINTS_LIMIT: usize = 10_000;

/// Alerts `GET /api/v1/alerts` returns when `limit` is not given.
const DEFAULT_ALERTS: usize = 50;

/// Query of `GET /api/v1/equity`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EquityQuery {
    scope: Option<String>,
    since: Option<i64>,
    max_points: Option<usize>,
}

/// One `[time_ms, equity]` pair; a non-finite equity is written as the API's `"NaN"`, `"+Inf"`, `"-Inf"`.
pub struct PointBody(i64, f64);

impl JsonSchema for PointBody {
    fn schema_name() -> Cow<'static, str> {
        "EquityPoint".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        // OpenAPI 3.0 has no tuple schema: two items, each a market time (Unix ms) or an equity.
        let equity = zigquant_engine::float::metric_number_schema(generator).to_value();
        json_schema!({
            "description": "[market time of the bar, Unix ms; mark-to-market equity]",
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "items": { "anyOf": [ { "type": "integer" }, equity ] }
        })
    }
}

impl Serialize for PointBody {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Value(f64);
        impl Serialize for Value {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                zigquant_engine::float::f64_or_str(&self.0, s)
            }
        }
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.0)?;
        t.serialize_element(&Value(self.1))?;
        t.end()
    }
}

/// `GET /api/v1/equity`.
#[derive(Serialize, JsonSchema)]
pub struct EquityBody {
    /// `portfolio` or the strategy asked for.
    scope: String,
    /// The `since` asked for (market time, Unix ms), if any.
    since: Option<i64>,
    /// The most points this answer holds.
    max_points: usize,
    /// Points recorded in the range before downsampling.
    points_in_range: usize,
    /// `[time_ms, equity]` pairs, oldest first.
    points: Vec<PointBody>,
}

/// `GET /api/v1/equity`: mark-to-market equity over (market) time, min/max downsampled.
pub async fn equity(
    State(state): State<SharedState>,
    query: Result<Query<EquityQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let max_points = match query.max_points {
        None => DEFAULT_MAX_POINTS,
        Some(n @ 2..=MAX_POINTS_LIMIT) => n,
        Some(n) => {
            return Err(ApiError::unprocessable(
                "invalid_max_points",
                format!("max_points ({n}) must be between 2 and {MAX_POINTS_LIMIT}"),
            ))
        }
    };
    let scope = query.scope.unwrap_or_else(|| PORTFOLIO_SCOPE.to_string());
    let series = state
        .live_view
        .equity(&scope, query.since, max_points)
        .map_err(|e| match e {
            EquityQueryError::UnknownScope(_) => ApiError::not_found(e.to_string()),
        })?;
    Ok(Json(EquityBody {
        scope,
        since: query.since,
        max_points,
        points_in_range: series.points_in_range,
        points: series
            .points
            .into_iter()
            .map(|(t, v)| PointBody(t, v))
            .collect(),
    })
    .into_response())
}

/// Query of `GET /api/v1/alerts`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/alerts`.
#[derive(Serialize, JsonSchema)]
pub struct AlertsBody {
    /// The latest alerts, newest first.
    items: Vec<AlertRecord>,
    /// Alerts raised since the process started (the list keeps only the latest).
    raised_since_start: u64,
}

/// `GET /api/v1/alerts`: the latest risk alerts, newest first.
pub async fn alerts(
    State(state): State<SharedState>,
    query: Result<Query<AlertsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let limit = page_limit(&state, query.limit, DEFAULT_ALERTS)?;
    let (items, raised_since_start) = state.live_view.alerts(limit);
    Ok(Json(AlertsBody {
        items,
        raised_since_start,
    })
    .into_response())
}

/// `GET /api/v1/events`: Server-Sent Events (`ready` first, then `fill`, `order`, `alert`, `link`,
/// `strategy`; a
/// `lagged` event when this client fell behind and should re-read the REST views). Ends when
/// the service shuts down. 503 when too many streams are open.
pub async fn events(State(state): State<SharedState>) -> Result<Response, ApiError> {
    let Some(subscription) = state.live_view.subscribe() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            "too many event streams are open; poll the REST views instead",
        ));
    };
    // A first `ready` event puts the response head and a first chunk on the wire at once, so a
    // client knows the stream is open even when nothing happens for a while.
    let ready = Event::default().event("ready").data("{\"type\":\"ready\"}");
    let stream = futures_util::stream::once(std::future::ready(Ok(ready)))
        .chain(futures_util::stream::unfold(subscription, next_event));
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// The next SSE event of a stream, or `None` once the service is shutting down.
async fn next_event(mut sub: Subscription) -> Option<(Result<Event, Infallible>, Subscription)> {
    if *sub.closed.borrow() {
        return None;
    }
    let event = tokio::select! {
        _ = sub.closed.wait_for(|closed| *closed) => return None,
        received = sub.events.recv() => match received {
            Ok(message) => Event::default().event(message.kind).data(&*message.json),
            Err(RecvError::Lagged(missed)) => Event::default()
                .event("lagged")
                .data(format!("{{\"missed\":{missed}}}")),
            Err(RecvError::Closed) => return None,
        },
    };
    Some((Ok(event), sub))
}
