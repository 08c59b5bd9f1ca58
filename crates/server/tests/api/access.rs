//! Who may call what: every route needs a key, the documented routes are all served,
//! authenticated answers carry a request id, state changes are audited by key name.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;
use zigquant_server::serve::Service;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn every_api_route_requires_a_valid_key() {
    let Service { app, .. } = service();
    for route in zigquant_server::api::ROUTES
        .iter()
        .filter(|r| r.authenticated)
    {
        let uri = route
            .path
            .replace("{name}", "sma_cross")
            .replace("{id}", "1");
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        for auth in [
            None,
            Some("Bearer wrong-key-0123456789abc"),
            Some("Basic abc"),
            Some("Bearer"),
        ] {
            let mut request = Request::builder().method(method.clone()).uri(&uri);
            if let Some(auth) = auth {
                request = request.header(header::AUTHORIZATION, auth);
            }
            let answer = send(&app, request.body(Body::empty()).unwrap()).await;
            assert_eq!(
                answer.assert_error(StatusCode::UNAUTHORIZED),
                "unauthorized",
                "{uri}"
            );
            assert!(answer.headers.contains_key(header::WWW_AUTHENTICATE));
        }
    }
    let answer = scrape(&app).await;
    assert!(!answer.contains(KEY), "the key never appears in /metrics");
}

/// The strings a string-enum schema allows (`enum`, or one `enum` per documented variant).
fn enum_values(schema: &Value) -> Vec<String> {
    let variants = match schema["oneOf"].as_array() {
        Some(variants) => variants.iter().collect(),
        None => vec![schema],
    };
    variants
        .iter()
        .flat_map(|v| v["enum"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn documented_routes_are_all_served() {
    let Service { app, .. } = service();
    let doc = get(&app, "/api/v1/openapi.json").await.json();
    for route in zigquant_server::api::ROUTES {
        let op = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
        assert!(
            op.is_object(),
            "{} {} missing from openapi",
            route.method,
            route.path
        );
        let uri = route
            .path
            .replace("{name}", "sma_cross")
            .replace("{id}", "999999");
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let request = if method == Method::POST && route.path == "/api/v1/orders" {
            post_json(&uri, r#"{"pair":"BTC-USDT","side":"buy","qty":0.001}"#)
        } else {
            authed(method, &uri).body(Body::empty()).unwrap()
        };
        if route.path == "/api/v1/events" {
            // A stream never ends: only its head is checked here (and in `event_stream_*`).
            let response = app.clone().oneshot(request).await.expect("infallible");
            assert_eq!(response.status(), StatusCode::OK);
            continue;
        }
        let answer = send(&app, request).await;
        if answer.status == StatusCode::NOT_FOUND {
            // A 404 for a missing order is fine; a 404 for the route itself is not.
            assert_ne!(answer.json()["error"]["message"], "no such route", "{uri}");
        }
        assert_ne!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{uri}");
        if let zigquant_server::api::Success::Json { status, .. } = route.success {
            let schema =
                &op["responses"][status.to_string()]["content"]["application/json"]["schema"];
            assert!(
                schema.as_object().is_some_and(|s| !s.is_empty()),
                "{} {}: no response schema: {op}",
                route.method,
                route.path
            );
        }
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["PlaceOrder"]["properties"]["side"]["allOf"][0]["$ref"],
        "#/components/schemas/OrderSide"
    );
    assert_eq!(enum_values(&schemas["OrderSide"]), ["buy", "sell"]);
    assert_eq!(
        enum_values(&schemas["OrderStatus"]),
        ["open", "filled", "cancelled", "rejected"]
    );
    // Statistics that can be undefined say so: a number or "NaN"/"+Inf"/"-Inf".
    let sharpe = &schemas["StrategyInfo"]["properties"]["sharpe"];
    assert_eq!(
        sharpe["oneOf"][1]["enum"],
        serde_json::json!(["NaN", "+Inf", "-Inf"]),
        "{sharpe}"
    );
    assert!(
        schemas["Order"]["properties"]["created_ms"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("arket time")),
        "{}",
        schemas["Order"]
    );
    assert_eq!(
        doc["paths"]["/api/v1/orders"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/PlaceOrder"
    );
    assert!(
        schemas["ErrorBody"]["properties"]["error"].is_object(),
        "{schemas}"
    );
}

/// A request id the server made: `<process start, 8 hex>-<thread>-<sequence>` (api/request_id.rs).
fn is_generated(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 8
        && parts[0].bytes().all(|b| b.is_ascii_hexdigit())
        && parts[1..]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Authenticated requests carry a request id (the audit trail's): a sane client-chosen
/// `X-Request-Id` is echoed, anything else is replaced by a generated one.
#[tokio::test(flavor = "multi_thread")]
async fn authenticated_responses_carry_a_request_id() {
    let Service { app, .. } = service();
    let id_of = |answer: &Answer| {
        answer
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let generated = send(
        &app,
        authed(Method::GET, "/api/v1/strategies")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let id = id_of(&generated).expect("a generated request id");
    assert!(is_generated(&id), "{id}");
    let chosen = send(
        &app,
        authed(Method::GET, "/api/v1/strategies")
            .header("x-request-id", "deploy-42.retry_1")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(id_of(&chosen).as_deref(), Some("deploy-42.retry_1"));
    for hostile in ["a b", "x".repeat(65).as_str(), "<script>"] {
        let answer = send(
            &app,
            authed(Method::GET, "/api/v1/strategies")
                .header("x-request-id", hostile)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let id = id_of(&answer).expect("a request id");
        assert_ne!(id, hostile);
        assert!(is_generated(&id), "{id}");
    }
    // Unauthenticated requests get none: nothing was done on anybody's behalf.
    let refused = send(
        &app,
        Request::get("/api/v1/strategies")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(id_of(&refused).is_none());
}

/// State-changing calls leave an audit entry with the key's name (never the key), the request
/// id and the outcome; refused ones too; reads leave none. Newest first, paginated.
#[tokio::test(flavor = "multi_thread")]
async fn state_changes_are_audited_by_key_name() {
    let Service { app, .. } = service();
    wait_ready(&app).await;
    let mut placed = post_json(
        "/api/v1/orders",
        r#"{"pair":"BTC-USDT","side":"buy","type":"limit","price":1.0,"qty":0.001}"#,
    );
    placed
        .headers_mut()
        .insert("x-request-id", "place-1".parse().unwrap());
    let placed = send(&app, placed).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text());
    let id = placed.json()["id"].as_u64().unwrap();
    let refused = send(
        &app,
        post_json(
            "/api/v1/orders",
            r#"{"pair":"NOPE-USDT","side":"buy","type":"market","qty":1}"#,
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let cancel = send(
        &app,
        authed(Method::DELETE, &format!("/api/v1/orders/{id}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.text());
    let stop = send(
        &app,
        authed(Method::POST, "/api/v1/strategies/sma_cross/stop")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(stop.status, StatusCode::OK, "{}", stop.text());
    get(&app, "/api/v1/orders").await; // a read: no entry

    let trail = get(&app, "/api/v1/audit").await;
    assert_eq!(trail.status, StatusCode::OK, "{}", trail.text());
    let body = trail.json();
    assert_eq!(body["total"], 4, "{body}");
    let items = body["items"].as_array().unwrap();
    let row = |i: usize, field: &str| items[i][field].as_str().unwrap_or("").to_string();
    assert_eq!(row(3, "action"), "place_order");
    assert_eq!(row(3, "request_id"), "place-1");
    assert_eq!(row(3, "target"), id.to_string());
    assert_eq!(row(3, "outcome"), "ok: open");
    assert_eq!(row(2, "action"), "place_order");
    assert!(
        row(2, "outcome").starts_with("refused: unknown pair"),
        "{body}"
    );
    assert_eq!(row(1, "action"), "cancel_order");
    assert_eq!(row(1, "outcome"), "ok: cancelled");
    assert_eq!(row(0, "action"), "stop_strategy");
    assert_eq!(row(0, "target"), "sma_cross");
    for item in items {
        assert_eq!(item["key_name"], "configured-0");
        assert!(item["time_ms"].as_i64().unwrap() > 1_600_000_000_000);
        assert!(!item.to_string().contains(KEY), "a key in the audit trail");
    }
    let page = get(&app, "/api/v1/audit?offset=1&limit=2").await.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["action"], "cancel_order");
    let unauthenticated = send(
        &app,
        Request::get("/api/v1/audit").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
}
