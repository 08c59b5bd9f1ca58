//! The HTTP surface: REST API v1 (authenticated), `/metrics`, `/health`, `/ready`, `/runbooks`,
//! and the dashboard page at `/` with its files under `/ui/` (public: they hold no data).
//!
//! Handlers are thin: parse, call the engine, map the result. The route table below is the single
//! source of the router, the OpenAPI document and the bounded `path` label values.

pub mod bodies;
mod error;
mod guard;
mod handlers;
mod live_handlers;
mod metrics_endpoint;
mod openapi;
mod request_id;
mod request_metrics;
mod runbooks;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use tower::Layer;
use zigquant_engine::EngineHandle;
use zigquant_metrics::Catalogue;

use crate::auth::ApiKeys;
use crate::limits::ClientLimits;
use crate::live_view::LiveFeed;
use crate::ui;
use crate::web_config::LiveWebConfig;
pub use error::ApiError;
pub use guard::Caller;
pub use live_handlers::{DEFAULT_MAX_POINTS, MAX_POINTS_LIMIT};
pub use metrics_endpoint::accepts_gzip;
pub use request_id::RequestId;
pub use request_metrics::{RecordRequests, RequestMetricsLayer, REQUEST_ID_HEADER};

/// What every handler can reach, shared: axum hands each request its own copy of the router's
/// state, and one reference count is cheaper than the nine of the fields (measured: cloning
/// the fields was ~20 % of an in-process `/health`).
pub type SharedState = Arc<AppState>;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Commands and snapshots of the trading engine.
    pub engine: EngineHandle,
    /// The metric catalogue `/metrics` encodes.
    pub catalogue: Arc<Catalogue>,
    /// Accepted `/api/v1` bearer keys.
    pub keys: ApiKeys,
    /// Token `/metrics` requires, when configured.
    pub metrics_token: Option<Arc<str>>,
    /// Per-address limits; the API spends the auth-failure budget.
    pub limits: Arc<ClientLimits>,
    /// The web config (basic-auth users for `/metrics`), when one is given.
    pub web: Option<Arc<LiveWebConfig>>,
    /// Largest page a list endpoint returns.
    pub max_page_size: usize,
    /// Process start, for `uptime_seconds` in the JSON summary.
    pub started: Instant,
    /// Equity history, latest alerts and the event stream the dashboard reads.
    pub live_view: Arc<LiveFeed>,
}

/// Writes the JSON Schema of one Rust type into the OpenAPI document's components.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The schema of `T` (a `$ref` into `#/components/schemas`), as a [`SchemaFn`].
pub fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// What a route answers when it succeeds.
#[derive(Clone, Copy)]
pub enum Success {
    /// A JSON body of a Rust type, with this status.
    Json {
        /// HTTP status of success (200, or 201 for a created order).
        status: u16,
        /// The body's type.
        schema: SchemaFn,
    },
    /// The Prometheus exposition (text 0.0.4 or OpenMetrics).
    Exposition,
    /// An HTML page.
    Html,
    /// A file of the dashboard: a script, a style sheet or an icon.
    UiFile,
    /// A Server-Sent Events stream.
    EventStream,
}

/// One documented route: the router, the OpenAPI document and the metrics label domain use it.
pub struct RouteDoc {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Route template, e.g. `/api/v1/orders/{id}`.
    pub path: &'static str,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
    /// Whether a bearer key is required.
    pub authenticated: bool,
    /// The JSON request body's type, for routes that take one.
    pub request: Option<SchemaFn>,
    /// What success looks like.
    pub success: Success,
}

const fn json(schema: SchemaFn) -> Success {
    Success::Json {
        status: 200,
        schema,
    }
}

const fn route(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    authenticated: bool,
    success: Success,
) -> RouteDoc {
    RouteDoc {
        method,
        path,
        summary,
        authenticated,
        request: None,
        success,
    }
}

/// Every route zigquant serves.
pub const ROUTES: &[RouteDoc] = &[
    route(
        "GET",
        "/",
        "The live dashboard (HTML; asks for an API key, keeps it in sessionStorage).",
        false,
        Success::Html,
    ),
    route(
        "GET",
        "/ui/{file}",
        "A file of the dashboard (script, style sheet, icon), embedded in the binary.",
        false,
        Success::UiFile,
    ),
    route(
        "GET",
        "/health",
        "Liveness: the process answers.",
        false,
        json(schema_of::<bodies::Health>),
    ),
    route(
        "GET",
        "/ready",
        "Readiness: journal open and market feeds live (503 with the same body when not).",
        false,
        json(schema_of::<bodies::Ready>),
    ),
    route(
        "GET",
        "/metrics",
        "Prometheus exposition (text 0.0.4 or OpenMetrics 1.0.0).",
        false,
        Success::Exposition,
    ),
    route(
        "GET",
        "/runbooks",
        "The alert runbooks as HTML; every alert's runbook_url links to a section.",
        false,
        Success::Html,
    ),
    route(
        "GET",
        "/api/v1/openapi.json",
        "This document.",
        true,
        json(schema_of::<bodies::AnyObject>),
    ),
    route(
        "GET",
        "/api/v1/strategies",
        "All strategies with state and statistics.",
        true,
        json(schema_of::<bodies::Items<bodies::StrategyView>>),
    ),
    route(
        "GET",
        "/api/v1/strategies/{name}",
        "One strategy.",
        true,
        json(schema_of::<bodies::StrategyView>),
    ),
    route(
        "POST",
        "/api/v1/strategies/{name}/start",
        "Start a strategy (journaled).",
        true,
        json(schema_of::<bodies::StrategyView>),
    ),
    route(
        "POST",
        "/api/v1/strategies/{name}/stop",
        "Stop a strategy (journaled; survives restart).",
        true,
        json(schema_of::<bodies::StrategyView>),
    ),
    route(
        "GET",
        "/api/v1/orders",
        "Orders, filtered by status, strategy and pair; paginated.",
        true,
        json(schema_of::<bodies::Page<bodies::OrderView>>),
    ),
    RouteDoc {
        request: Some(schema_of::<handlers::PlaceOrder>),
        ..route(
            "POST",
            "/api/v1/orders",
            "Place an order. A request that passes validation becomes an order: 201 with it, \
             also when the risk check or the exchange rejects it (`status` = `rejected` with a \
             `reject_reason`, for every reason). A request that fails validation is a 4xx and \
             never becomes an order.",
            true,
            Success::Json {
                status: 201,
                schema: schema_of::<bodies::OrderView>,
            },
        )
    },
    route(
        "GET",
        "/api/v1/orders/{id}",
        "One order.",
        true,
        json(schema_of::<bodies::OrderView>),
    ),
    route(
        "DELETE",
        "/api/v1/orders/{id}",
        "Cancel an open order (409 when it is already final).",
        true,
        json(schema_of::<bodies::OrderView>),
    ),
    route(
        "GET",
        "/api/v1/positions",
        "Positions per pair.",
        true,
        json(schema_of::<bodies::Items<bodies::PositionView>>),
    ),
    route(
        "GET",
        "/api/v1/trades",
        "Fills, newest first; paginated.",
        true,
        json(schema_of::<bodies::Page<bodies::TradeView>>),
    ),
    route(
        "GET",
        "/api/v1/metrics",
        "JSON summary of the trading metrics.",
        true,
        json(schema_of::<bodies::SummaryView>),
    ),
    route(
        "GET",
        "/api/v1/audit",
        "Audit trail of orders placed or cancelled and strategies started or stopped: time, key name, client address, request id, outcome; newest first, paginated.",
        true,
        json(schema_of::<bodies::Page<bodies::AuditView>>),
    ),
    route(
        "GET",
        "/api/v1/equity",
        "Equity over market time for `portfolio` or a strategy; min/max-preserving downsample.",
        true,
        json(schema_of::<bodies::EquityView>),
    ),
    route(
        "GET",
        "/api/v1/alerts",
        "The latest risk alerts, newest first.",
        true,
        json(schema_of::<bodies::AlertsView>),
    ),
    route(
        "GET",
        "/api/v1/events",
        "Server-Sent Events: fills, order changes, alerts, link and strategy changes.",
        true,
        Success::EventStream,
    ),
];

/// The distinct route templates: the closed set of `path` label values (plus `unmatched`).
pub fn route_templates() -> Vec<String> {
    let mut paths: Vec<String> = ROUTES.iter().map(|r| r.path.to_string()).collect();
    paths.sort();
    paths.dedup();
    paths
}

/// What `zigquant serve` serves: the routes inside the request metrics.
pub type App = RecordRequests<Router>;

/// Builds the whole application: [`routes`] wrapped in [`with_request_metrics`].
pub fn router(state: AppState, body_limit_bytes: usize) -> App {
    let catalogue = state.catalogue.clone();
    with_request_metrics(routes(state, body_limit_bytes), catalogue)
}

/// The routes with auth, fallbacks and the body limit, but without request metrics.
/// Production uses [`router`]; the `api_overhead` benchmark serves this bare router to measure
/// what the metrics layer costs.
pub fn routes(state: AppState, body_limit_bytes: usize) -> Router {
    let state: SharedState = Arc::new(state);
    let v1 = Router::new()
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/strategies", get(handlers::list_strategies))
        .route("/api/v1/strategies/{name}", get(handlers::get_strategy))
        .route(
            "/api/v1/strategies/{name}/start",
            post(handlers::start_strategy),
        )
        .route(
            "/api/v1/strategies/{name}/stop",
            post(handlers::stop_strategy),
        )
        .route(
            "/api/v1/orders",
            get(handlers::list_orders).post(handlers::place_order),
        )
        .route(
            "/api/v1/orders/{id}",
            get(handlers::get_order).delete(handlers::cancel_order),
        )
        .route("/api/v1/positions", get(handlers::list_positions))
        .route("/api/v1/trades", get(handlers::list_trades))
        .route("/api/v1/metrics", get(handlers::summary))
        .route("/api/v1/audit", get(handlers::list_audit))
        .route("/api/v1/equity", get(live_handlers::equity))
        .route("/api/v1/alerts", get(live_handlers::alerts))
        .route("/api/v1/events", get(live_handlers::events))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guard::require_key,
        ));

    Router::new()
        .route("/", get(ui::index))
        .route("/ui/{file}", get(ui::file))
        .route("/health", get(handlers::health))
        .route("/ready", get(handlers::ready))
        .route("/metrics", get(metrics_endpoint::metrics))
        .route("/runbooks", get(runbooks::page))
        .merge(v1)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit_bytes))
        .with_state(state)
}

/// Adds the request metrics to `routes`: one service around the router times and counts every
/// request, matched or not, labelled by its route template. `catalogue`'s `path` label domain
/// must hold [`route_templates`] (as `serve::catalogue_for` builds it).
pub fn with_request_metrics(routes: Router, catalogue: Arc<Catalogue>) -> App {
    RequestMetricsLayer::new(catalogue).layer(routes)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}
