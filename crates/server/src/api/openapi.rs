//! `GET /api/v1/openapi.json`: an OpenAPI 3.0 document built from the route table, so the document
//! cannot list a route the router does not serve (a test checks the converse). Request and
//! response schemas are generated from the Rust types the handlers (de)serialize.

use axum::Json;
use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

use super::bodies::ErrorBody;
use super::{schema_of, RouteDoc, Success, ROUTES};

/// Serves the document.
pub async fn document() -> Json<Value> {
    Json(build())
}

const DESCRIPTION: &str = "Paper-trading service. Every /api/v1 route needs \
`Authorization: Bearer <key>`. Errors are `{\"error\": {\"code\", \"message\"}}` with a 4xx or 5xx \
status. Numbers that can be non-finite (statistics such as sharpe or win_rate before any trade) \
are JSON numbers when finite and the strings \"NaN\", \"+Inf\" or \"-Inf\" otherwise. Times: \
fields ending in `_ms` are Unix milliseconds of market time (the simulated clock, which runs \
`engine.feed.clock_speed` times faster than the wall clock); `uptime_seconds` and every metric \
sample are wall time.";

/// Builds the document from [`ROUTES`].
pub fn build() -> Value {
    // Responses are what the handlers serialize; request bodies what they deserialize.
    let mut responses = SchemaSettings::openapi3().for_serialize().into_generator();
    let mut requests = SchemaSettings::openapi3()
        .for_deserialize()
        .into_generator();
    let error = schema_of::<ErrorBody>(&mut responses).to_value();
    let mut paths = Map::new();
    for route in ROUTES {
        let op = operation(route, &mut responses, &mut requests, &error);
        if let Value::Object(item) = paths
            .entry(route.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            item.insert(route.method.to_ascii_lowercase(), op);
        }
    }
    let mut schemas = requests.take_definitions(true);
    schemas.extend(responses.take_definitions(true));
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "zigquant API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": DESCRIPTION,
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas,
        }
    })
}

fn parameters(route: &RouteDoc, requests: &mut schemars::SchemaGenerator) -> Vec<Value> {
    let mut parameters = Vec::new();
    for segment in route.path.split('/') {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let schema = if name == "id" {
                json!({"type": "integer", "minimum": 1})
            } else {
                json!({"type": "string"})
            };
            parameters
                .push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
        }
    }
    if route.method == "GET"
        && matches!(
            route.path,
            "/api/v1/orders" | "/api/v1/trades" | "/api/v1/audit"
        )
    {
        for (name, schema) in [
            (
                "offset",
                json!({"type": "integer", "minimum": 0, "default": 0}),
            ),
            (
                "limit",
                json!({"type": "integer", "minimum": 1, "default": 100}),
            ),
        ] {
            parameters
                .push(json!({"name": name, "in": "query", "required": false, "schema": schema}));
        }
        if route.path == "/api/v1/orders" {
            let status = schema_of::<zigquant_engine::OrderStatus>(requests).to_value();
            parameters.push(
                json!({"name": "status", "in": "query", "required": false, "schema": status}),
            );
            for name in ["strategy", "pair"] {
                parameters.push(json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}}));
            }
        }
    }
    if route.path == "/api/v1/equity" {
        for (name, schema, description) in [
            (
                "scope",
                json!({"type": "string", "default": "portfolio"}),
                "`portfolio` or a configured strategy name",
            ),
            (
                "since",
                json!({"type": "integer"}),
                "only points at or after this market time, Unix ms",
            ),
            (
                "max_points",
                json!({"type": "integer", "minimum": 2, "maximum": super::MAX_POINTS_LIMIT, "default": super::DEFAULT_MAX_POINTS}),
                "at most this many points; each bucket keeps its minimum and maximum",
            ),
        ] {
            parameters.push(json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description}));
        }
    }
    if route.path == "/api/v1/alerts" {
        parameters.push(json!({"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "default": 50}}));
    }
    parameters
}

fn operation(
    route: &RouteDoc,
    responses: &mut schemars::SchemaGenerator,
    requests: &mut schemars::SchemaGenerator,
    error: &Value,
) -> Value {
    let mut op = Map::new();
    op.insert("summary".into(), json!(route.summary));
    let parameters = parameters(route, requests);
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(request) = route.request {
        op.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": {"schema": request(requests).to_value()}}}),
        );
    }
    let error_response = |description: &str| json!({"description": description, "content": {"application/json": {"schema": error}}});
    let mut answers = Map::new();
    match route.success {
        Success::Json { status, schema } => {
            let body = schema(responses).to_value();
            answers.insert(
                status.to_string(),
                json!({"description": "success", "content": {"application/json": {"schema": body.clone()}}}),
            );
            if route.path == "/ready" {
                answers.insert(
                    "503".into(),
                    json!({"description": "not ready", "content": {"application/json": {"schema": body}}}),
                );
            }
        }
        Success::Exposition => {
            answers.insert(
                "200".into(),
                json!({"description": "success", "content": {
                    "text/plain": {"schema": {"type": "string"}},
                    "application/openmetrics-text": {"schema": {"type": "string"}}}}),
            );
        }
        Success::Html => {
            answers.insert(
                "200".into(),
                json!({"description": "success", "content": {"text/html": {"schema": {"type": "string"}}}}),
            );
        }
        Success::UiFile => {
            let file = json!({"schema": {"type": "string"}});
            answers.insert(
                "200".into(),
                json!({"description": "success", "content": {
                    "text/javascript": file, "text/css": file, "image/svg+xml": file}}),
            );
        }
        Success::EventStream => {
            answers.insert(
                "200".into(),
                json!({"description": "an open stream of `ready`, `fill`, `order`, `alert`, `link`, `strategy` and `lagged` events, each with a JSON `data` line", "content": {"text/event-stream": {"schema": {"type": "string"}}}}),
            );
        }
    }
    if route.authenticated {
        op.insert("security".into(), json!([{"bearer": []}]));
        answers.insert(
            "401".into(),
            error_response("missing or invalid bearer key"),
        );
        answers.insert(
            "429".into(),
            error_response(
                "too many failed authentications or requests from this address; see Retry-After",
            ),
        );
    }
    answers.insert("default".into(), error_response("error"));
    op.insert("responses".into(), Value::Object(answers));
    Value::Object(op)
}
