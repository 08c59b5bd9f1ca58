//! `GET /api/v1/openapi.json`: an OpenAPI 3.0 document built from the route table, so the document
//! cannot list a route the router does not serve (a test checks the converse).

use axum::Json;
use serde_json::{json, Map, Value};

use super::{RouteDoc, ROUTES};

/// Serves the document.
pub async fn document() -> Json<Value> {
    Json(build())
}

/// Builds the document from [`ROUTES`].
pub fn build() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let item = paths
            .entry(route.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(route.method.to_ascii_lowercase(), operation(route));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "zigquant API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Paper-trading service. Every /api/v1 route needs `Authorization: Bearer <key>`. Errors are `{\"error\": {\"code\", \"message\"}}`."
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": { "error": { "type": "object", "required": ["code", "message"],
                        "properties": { "code": { "type": "string" }, "message": { "type": "string" } } } }
                },
                "OrderRequest": {
                    "type": "object",
                    "required": ["pair", "side", "qty"],
                    "additionalProperties": false,
                    "properties": {
                        "pair": { "type": "string", "example": "BTC-USDT" },
                        "side": { "type": "string", "enum": ["buy", "sell"] },
                        "type": { "type": "string", "enum": ["market", "limit"], "default": "market" },
                        "qty": { "type": "number", "exclusiveMinimum": 0 },
                        "price": { "type": "number", "description": "limit price; required for limit orders" },
                        "time_in_force_secs": { "type": "number", "description": "limit orders: cancel after this many seconds" },
                        "strategy": { "type": "string", "description": "attribution; default `manual`" },
                        "exchange": { "type": "string", "description": "venue; default the first configured" }
                    }
                }
            }
        }
    })
}

fn operation(route: &RouteDoc) -> Value {
    let mut op = Map::new();
    op.insert("summary".into(), json!(route.summary));
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
            for name in ["status", "strategy", "pair"] {
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
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    let ok_status = if route.method == "POST" && route.path == "/api/v1/orders" {
        op.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OrderRequest"}}}}),
        );
        "201"
    } else {
        "200"
    };
    let error = json!({"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let mut responses = Map::new();
    let ok_content = match route.path {
        "/metrics" => json!({"text/plain": {}, "application/openmetrics-text": {}}),
        "/" => json!({"text/html": {}}),
        "/ui/{file}" => json!({"text/javascript": {}, "text/css": {}, "image/svg+xml": {}}),
        "/api/v1/events" => json!({"text/event-stream": {}}),
        _ => json!({"application/json": {}}),
    };
    responses.insert(
        ok_status.into(),
        json!({"description": "success", "content": ok_content}),
    );
    if route.authenticated {
        op.insert("security".into(), json!([{"bearer": []}]));
        let mut unauthorized = error.clone();
        unauthorized["description"] = json!("missing or invalid bearer key");
        responses.insert("401".into(), unauthorized);
        let mut throttled = error.clone();
        throttled["description"] =
            json!("too many failed authentications or requests from this address; see Retry-After");
        responses.insert("429".into(), throttled);
    }
    let mut default = error;
    default["description"] = json!("error");
    responses.insert("default".into(), default);
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}
