//! REST handlers: parse, call the engine (off the async workers), map the result.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zigquant_engine::{
    AuditContext, EngineError, EngineHandle, OrderError, OrderFilter, OrderKind, OrderRequest,
    OrderSide, OrderStatus, Page as EnginePage,
};

use super::bodies::{Health, Items, Page, Ready, SummaryView};
use super::error::ApiError;
use super::{AppState, Caller, SharedState};

/// Default page size of list endpoints.
const DEFAULT_PAGE: usize = 100;

/// Runs a (blocking) engine call on the blocking pool.
async fn call<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&EngineHandle) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let engine = state.engine.clone();
    tokio::task::spawn_blocking(move || f(&engine))
        .await
        .map_err(|_| ApiError::unavailable("the engine call did not complete"))
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::UnknownStrategy(_) => ApiError::not_found(e.to_string()),
            EngineError::NotControllable(_) => {
                ApiError::unprocessable("not_controllable", e.to_string())
            }
            EngineError::Config(_)
            | EngineError::Journal(_)
            | EngineError::Restore { .. }
            | EngineError::Feed(_)
            | EngineError::Spawn(_)
            | EngineError::Halted(_)
            | EngineError::Stopped => ApiError::unavailable(e.to_string()),
        }
    }
}

impl From<OrderError> for ApiError {
    fn from(e: OrderError) -> Self {
        let message = e.to_string();
        match e {
            OrderError::UnknownPair(_) => ApiError::unprocessable("unknown_pair", message),
            OrderError::UnknownStrategy(_) => ApiError::unprocessable("unknown_strategy", message),
            OrderError::UnknownExchange(_) => ApiError::unprocessable("unknown_exchange", message),
            OrderError::InvalidQuantity(_) => ApiError::unprocessable("invalid_quantity", message),
            OrderError::InvalidPrice(_) => ApiError::unprocessable("invalid_price", message),
            OrderError::TradingHalted(_) => ApiError::unavailable(message),
            OrderError::NotFound(_) => ApiError::not_found(message),
            OrderError::AlreadyFinal { .. } => {
                ApiError::new(StatusCode::CONFLICT, "already_final", message)
            }
            OrderError::Unavailable(_) => ApiError::unavailable(message),
        }
    }
}

/// The order id of a path, or the API's message for one that is not a positive integer.
fn order_id(id: Result<Path<u64>, PathRejection>) -> Result<u64, ApiError> {
    match id {
        Ok(Path(id)) if id > 0 => Ok(id),
        _ => Err(ApiError::invalid_order_id()),
    }
}

/// `GET /health`: the process is alive.
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// `GET /ready`: 200 when the journal is writable and the feeds are live, else 503.
pub async fn ready(State(state): State<SharedState>) -> Result<Response, ApiError> {
    let health = call(&state, |e| e.health()).await??;
    let ready = health.journal_ok && health.feeds_live && health.halted.is_none();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Ready {
        status: if ready { "ready" } else { "not_ready" },
        journal_ok: health.journal_ok,
        feeds_live: health.feeds_live,
        halted: health.halted,
    };
    Ok((status, Json(body)).into_response())
}

/// `GET /api/v1/strategies`.
pub async fn list_strategies(State(state): State<SharedState>) -> Result<Response, ApiError> {
    let strategies = call(&state, |e| e.strategies()).await??;
    Ok(Json(Items { items: strategies }).into_response())
}

/// `GET /api/v1/strategies/{name}`.
pub async fn get_strategy(
    State(state): State<SharedState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(name) = name?;
    let found = call(&state, move |e| e.strategy(&name).map(|s| (s, name))).await??;
    match found {
        (Some(strategy), _) => Ok(Json(strategy).into_response()),
        (None, name) => Err(ApiError::not_found(format!("unknown strategy {name:?}"))),
    }
}

/// `POST /api/v1/strategies/{name}/start`.
pub async fn start_strategy(
    state: State<SharedState>,
    caller: Option<Extension<Caller>>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    set_running(state, caller, name, true).await
}

/// `POST /api/v1/strategies/{name}/stop`.
pub async fn stop_strategy(
    state: State<SharedState>,
    caller: Option<Extension<Caller>>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    set_running(state, caller, name, false).await
}

/// Starts or stops a strategy (journaled, with its audit entry) and answers with its new state.
async fn set_running(
    State(state): State<SharedState>,
    caller: Option<Extension<Caller>>,
    name: Result<Path<String>, PathRejection>,
    running: bool,
) -> Result<Response, ApiError> {
    let Path(name) = name?;
    let who = audit_context(caller);
    let strategy = call(&state, move |e| match who {
        Some(who) => e.set_running_as(&name, running, who),
        None if running => e.start_strategy(&name),
        None => e.stop_strategy(&name),
    })
    .await??;
    Ok(Json(strategy).into_response())
}

/// The audit trail's view of the authenticated caller (always there behind `require_key`).
fn audit_context(caller: Option<Extension<Caller>>) -> Option<AuditContext> {
    caller.map(|Extension(c)| AuditContext {
        key_name: c.key.to_string(),
        client: c.addr.map(|a| a.to_string()),
        request_id: c.request_id.to_string(),
    })
}

/// `GET /api/v1/audit`: the audit trail, newest first; paginated.
pub async fn list_audit(
    State(state): State<SharedState>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    page_response(&state, query, |e, offset, limit| e.audit(offset, limit)).await
}

/// Query of `GET /api/v1/orders`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersQuery {
    status: Option<OrderStatus>,
    strategy: Option<String>,
    pair: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

/// A listing endpoint's answer: checks the page query, fetches that page off the async workers
/// and wraps it in a [`Page`].
async fn page_response<T: Serialize + Send + 'static>(
    state: &AppState,
    query: PageQuery,
    fetch: impl FnOnce(&EngineHandle, usize, usize) -> Result<EnginePage<T>, EngineError>
        + Send
        + 'static,
) -> Result<Response, ApiError> {
    let limit = page_limit(state, query.limit, DEFAULT_PAGE)?;
    let offset = query.offset.unwrap_or(0);
    let page = call(state, move |e| fetch(e, offset, limit)).await??;
    Ok(Json(Page {
        items: page.items,
        total: page.total,
        offset,
        limit,
    })
    .into_response())
}

/// A list endpoint's page size: `default` when not given, at least 1, at most the configured
/// `api.max_page_size`.
pub(super) fn page_limit(
    state: &AppState,
    limit: Option<usize>,
    default: usize,
) -> Result<usize, ApiError> {
    match limit {
        None => Ok(default.min(state.max_page_size)),
        Some(0) => Err(ApiError::unprocessable(
            "invalid_limit",
            "limit must be at least 1",
        )),
        Some(n) => Ok(n.min(state.max_page_size)),
    }
}

/// `GET /api/v1/orders`.
pub async fn list_orders(
    State(state): State<SharedState>,
    query: Result<Query<OrdersQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let page = PageQuery {
        offset: query.offset,
        limit: query.limit,
    };
    let (status, strategy, pair) = (query.status, query.strategy, query.pair);
    page_response(&state, page, move |e, offset, limit| {
        e.orders(&OrderFilter {
            status,
            strategy,
            pair,
            offset,
            limit,
        })
    })
    .await
}

/// Order type in the API's flat request body.
#[derive(Deserialize, JsonSchema, Clone, Copy, Default)]
#[serde(rename_all = "snake_case")]
enum OrderType {
    #[default]
    Market,
    Limit,
}

/// Body of `POST /api/v1/orders`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    /// A configured pair, e.g. `BTC-USDT`.
    pair: String,
    /// `buy` or `sell`.
    side: OrderSide,
    /// `market` (default) or `limit`.
    #[serde(default, rename = "type")]
    order_type: OrderType,
    /// Base quantity, > 0.
    qty: f64,
    /// Limit price, > 0; required for limit orders, refused for market orders.
    price: Option<f64>,
    /// Limit orders: cancel after this many wall seconds (> 0).
    time_in_force_secs: Option<f64>,
    /// Attribution: a configured strategy; default `manual`.
    strategy: Option<String>,
    /// Venue: a configured exchange; default the first configured.
    exchange: Option<String>,
}

impl PlaceOrder {
    fn into_request(self) -> Result<OrderRequest, ApiError> {
        let kind = match (self.order_type, self.price) {
            (OrderType::Market, None) => {
                if self.time_in_force_secs.is_some() {
                    return Err(ApiError::unprocessable(
                        "invalid_field",
                        "time_in_force_secs applies to limit orders only",
                    ));
                }
                OrderKind::Market
            }
            (OrderType::Market, Some(_)) => {
                return Err(ApiError::unprocessable(
                    "invalid_field",
                    "a market order takes no price; use \"type\": \"limit\"",
                ))
            }
            (OrderType::Limit, Some(price)) => OrderKind::Limit {
                price,
                time_in_force_secs: self.time_in_force_secs,
            },
            (OrderType::Limit, None) => {
                return Err(ApiError::unprocessable(
                    "invalid_price",
                    "a limit order needs a price",
                ))
            }
        };
        Ok(OrderRequest {
            strategy: self.strategy,
            pair: self.pair,
            side: self.side,
            kind,
            qty: self.qty,
            exchange: self.exchange,
        })
    }
}

/// `POST /api/v1/orders`: 201 with the order (which may be `rejected` by the exchange, with a
/// reason; validation failures are 422 and never reach an exchange).
pub async fn place_order(
    State(state): State<SharedState>,
    caller: Option<Extension<Caller>>,
    body: Result<Json<PlaceOrder>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let request = body.into_request()?;
    let who = audit_context(caller);
    let order = call(&state, move |e| match who {
        Some(who) => e.place_order_as(request, who),
        None => e.place_order(request),
    })
    .await??;
    Ok((StatusCode::CREATED, Json(order)).into_response())
}

/// `GET /api/v1/orders/{id}`.
pub async fn get_order(
    State(state): State<SharedState>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = order_id(id)?;
    match call(&state, move |e| e.order(id)).await?? {
        Some(order) => Ok(Json(order).into_response()),
        None => Err(ApiError::not_found(format!("order {id} not found"))),
    }
}

/// `DELETE /api/v1/orders/{id}`: cancels an open order.
pub async fn cancel_order(
    State(state): State<SharedState>,
    caller: Option<Extension<Caller>>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = order_id(id)?;
    let who = audit_context(caller);
    let order = call(&state, move |e| match who {
        Some(who) => e.cancel_order_as(id, who),
        None => e.cancel_order(id),
    })
    .await??;
    Ok(Json(order).into_response())
}

/// `GET /api/v1/positions`.
pub async fn list_positions(State(state): State<SharedState>) -> Result<Response, ApiError> {
    let positions = call(&state, |e| e.positions()).await??;
    Ok(Json(Items { items: positions }).into_response())
}

/// Query of `GET /api/v1/trades`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    offset: Option<usize>,
    limit: Option<usize>,
}

/// `GET /api/v1/trades`: fills, newest first.
pub async fn list_trades(
    State(state): State<SharedState>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    page_response(&state, query, |e, offset, limit| e.trades(offset, limit)).await
}

/// `GET /api/v1/metrics`: the JSON summary of the story's handler, plus per-strategy statistics.
pub async fn summary(State(state): State<SharedState>) -> Result<Response, ApiError> {
    let summary = call(&state, |e| e.summary()).await??;
    Ok(Json(SummaryView {
        summary,
        uptime_seconds: state.started.elapsed().as_secs_f64(),
    })
    .into_response())
}
