//! The REST API as a client sees it: in-process through `oneshot`, and once over a real socket.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use zigquant_server::api::App;
use zigquant_server::config::Config;
use zigquant_server::serve::{build, Service};

const KEY: &str = "test-key-0123456789abcdef";

fn test_config() -> Config {
    let mut config = common::test_config("api", KEY);
    config.api.body_limit_bytes = 4096;
    config
}

fn service() -> Service {
    build(&test_config()).expect("service builds")
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the error shape every failure must have.
    fn assert_error(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "body: {}", self.text());
        let body = self.json();
        let code = body["error"]["code"]
            .as_str()
            .expect("error.code")
            .to_string();
        assert!(
            body["error"]["message"].is_string(),
            "error.message in {body}"
        );
        code
    }
}

async fn send(app: &App, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

fn authed(method: Method, uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
}

fn post_json(uri: &str, body: &str) -> Request<Body> {
    authed(Method::POST, uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn get(app: &App, uri: &str) -> Answer {
    send(app, authed(Method::GET, uri).body(Body::empty()).unwrap()).await
}

async fn scrape(app: &App) -> String {
    let answer = send(app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK);
    answer.text()
}

fn series_count(exposition: &str, prefix: &str) -> usize {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && l.starts_with(prefix))
        .count()
}

fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|l| {
        let rest = l.strip_prefix(series)?;
        rest.strip_prefix(' ')?.parse().ok()
    })
}

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

#[tokio::test(flavor = "multi_thread")]
async fn orders_lifecycle_over_the_api() {
    let Service { app, .. } = service();
    wait_ready(&app).await; // orders need a first price
    let placed = send(
        &app,
        post_json(
            "/api/v1/orders",
            r#"{"pair":"BTC-USDT","side":"buy","type":"market","qty":0.001}"#,
        ),
    )
    .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text());
    let order = placed.json();
    let id = order["id"].as_u64().expect("id");
    assert_eq!(order["strategy"], "manual");
    assert_eq!(order["pair"], "BTC-USDT");

    let fetched = get(&app, &format!("/api/v1/orders/{id}")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json()["id"], id);

    // A limit order far below the market rests until cancelled.
    let resting = send(
        &app,
        post_json(
            "/api/v1/orders",
            r#"{"pair":"BTC-USDT","side":"buy","type":"limit","price":1.0,"qty":0.001}"#,
        ),
    )
    .await;
    assert_eq!(resting.status, StatusCode::CREATED, "{}", resting.text());
    let resting_id = resting.json()["id"].as_u64().unwrap();
    let mut cancelled = None;
    for _ in 0..50 {
        let answer = send(
            &app,
            authed(Method::DELETE, &format!("/api/v1/orders/{resting_id}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        if answer.status == StatusCode::OK {
            cancelled = Some(answer.json());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let cancelled = cancelled
        .unwrap_or_else(|| panic!("the resting order can be cancelled: {}", resting.text()));
    assert_eq!(cancelled["status"], "cancelled");
    let again = send(
        &app,
        authed(Method::DELETE, &format!("/api/v1/orders/{resting_id}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(again.assert_error(StatusCode::CONFLICT), "already_final");
    assert_eq!(
        again.json()["error"]["message"],
        format!("order {resting_id} is already cancelled")
    );

    let listed = get(&app, "/api/v1/orders?strategy=manual&limit=10").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    let listed = listed.json();
    assert!(listed["total"].as_u64().unwrap() >= 2);
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["strategy"] == "manual"));

    let missing = get(&app, "/api/v1/orders/987654321").await;
    missing.assert_error(StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn strategies_start_and_stop() {
    let Service { app, .. } = service();
    let list = get(&app, "/api/v1/strategies").await;
    assert_eq!(list.status, StatusCode::OK);
    let names: Vec<String> = list.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"sma_cross".to_string()), "{names:?}");

    let stopped = send(
        &app,
        authed(Method::POST, "/api/v1/strategies/sma_cross/stop")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text());
    assert_eq!(stopped.json()["running"], false);
    let one = get(&app, "/api/v1/strategies/sma_cross").await;
    assert_eq!(one.json()["running"], false);
    assert_eq!(
        sample(
            &scrape(&app).await,
            "zigquant_strategy_running{strategy=\"sma_cross\"}"
        ),
        Some(0.0)
    );
    let started = send(
        &app,
        authed(Method::POST, "/api/v1/strategies/sma_cross/start")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(started.json()["running"], true);
    let unknown = get(&app, "/api/v1/strategies/nope").await;
    unknown.assert_error(StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_a_json_4xx() {
    let Service { app, .. } = service();
    let cases: Vec<(Request<Body>, StatusCode)> = vec![
        (
            post_json("/api/v1/orders", "{not json"),
            StatusCode::BAD_REQUEST,
        ),
        (post_json("/api/v1/orders", ""), StatusCode::BAD_REQUEST),
        (
            post_json(
                "/api/v1/orders",
                r#"{"pair":"BTC-USDT","side":"buy","qty":-1}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            post_json(
                "/api/v1/orders",
                r#"{"pair":"BTC-USDT","side":"buy","qty":0}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            post_json(
                "/api/v1/orders",
                r#"{"pair":"DOGE-USDT","side":"buy","qty":1}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            post_json(
                "/api/v1/orders",
                r#"{"pair":"BTC-USDT","side":"buy","qty":1,"strategy":"nope"}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            post_json(
                "/api/v1/orders",
                r#"{"pair":"BTC-USDT","side":"hold","qty":1}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            post_json(
                "/api/v1/orders",
                r#"{"pair":"BTC-USDT","side":"buy","qty":1,"evil":1}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            post_json(
                "/api/v1/orders",
                r#"{"pair":"BTC-USDT","side":"buy","type":"limit","qty":1}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            post_json(
                "/api/v1/orders",
                r#"{"pair":"BTC-USDT","side":"buy","qty":1e400}"#,
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            post_json(
                "/api/v1/orders",
                &format!(r#"{{"pair":"{}","side":"buy","qty":1}}"#, "x".repeat(8192)),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            authed(Method::POST, "/api/v1/orders")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            authed(Method::GET, "/api/v1/orders?limit=abc")
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            authed(Method::GET, "/api/v1/orders/abc")
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            authed(Method::GET, "/api/v1/nowhere")
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            authed(Method::PUT, "/api/v1/orders")
                .body(Body::empty())
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Request::builder()
                .method("DELETE")
                .uri("/metrics")
                .body(Body::empty())
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (request, status) in cases {
        let label = format!("{} {}", request.method(), request.uri());
        let answer = send(&app, request).await;
        assert_eq!(answer.status, status, "{label}: {}", answer.text());
        answer.assert_error(status);
        assert_one_voice(&label, answer.json()["error"]["message"].as_str().unwrap());
    }
    let bad_id = get(&app, "/api/v1/orders/abc").await;
    assert_eq!(
        bad_id.json()["error"]["message"],
        "order id must be a positive integer"
    );
}

/// Error messages speak the API's language: lower-case first word, no Rust type names or
/// framework phrases.
fn assert_one_voice(label: &str, message: &str) {
    assert!(
        message.chars().next().is_some_and(|c| !c.is_uppercase()),
        "{label}: message starts upper-case: {message}"
    );
    for word in [
        "u64",
        "usize",
        "f64",
        "i64",
        "struct ",
        "Cannot parse",
        "Failed to",
        "target type",
        "Cancelled",
        "Filled",
        "Rejected",
        "PlaceOrder",
        "OrdersQuery",
    ] {
        assert!(
            !message.contains(word),
            "{label}: message contains {word:?}: {message}"
        );
    }
}

/// A request that passes validation becomes an order: 201 with the order, whatever the risk
/// check or the exchange then decides; a reject is the order's status and reason (README, API
/// contract in the OpenAPI document).
#[tokio::test(flavor = "multi_thread")]
async fn a_risk_rejected_order_is_created_with_status_rejected() {
    let Service { app, .. } = service();
    wait_ready(&app).await;
    let answer = send(
        &app,
        post_json(
            "/api/v1/orders",
            r#"{"pair":"BTC-USDT","side":"buy","type":"market","qty":5}"#,
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    let order = answer.json();
    assert_eq!(order["status"], "rejected", "{order}");
    assert_eq!(order["reject_reason"], "risk_limit", "{order}");
    let id = order["id"].as_u64().unwrap();
    let fetched = get(&app, &format!("/api/v1/orders/{id}")).await.json();
    assert_eq!(fetched["status"], "rejected");
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_hostile_requests_add_no_series() {
    // No trading: a strategy's or the noise trader's first fill on a new (strategy, pair, side)
    // adds series too, at a moment no test controls; only requests may add series here.
    let mut config = test_config();
    config.engine.noise.enabled = false;
    for strategy in &mut config.engine.strategies {
        strategy.enabled = false;
    }
    let Service { app, .. } = build(&config).expect("service builds");
    // Market-data series appear with the first bar; wait for it so only requests can add series.
    wait_ready(&app).await;
    let methods = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "FOO", "BREW",
    ];
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let request = |method: &str, kind: u64, with_key: bool, i: usize, r: u64| {
        let path = match kind {
            0 => format!("/random/{r}/{i}"),
            1 => format!("/api/v1/orders/{r}"),
            2 => format!("/api/v1/strategies/{r:x}"),
            _ => format!("/metrics/{}", r % 1000),
        };
        let mut builder = Request::builder().method(method).uri(path);
        if with_key {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {KEY}"));
        }
        builder.body(Body::empty()).unwrap()
    };
    // Warm up: every method on every kind of path, with and without a key, so the series that
    // hostile traffic can reach all exist; after that, nothing may add one.
    for method in methods {
        for kind in 0..4 {
            for with_key in [false, true] {
                send(&app, request(method, kind, with_key, 0, 1 << 40)).await;
            }
        }
    }
    // The market data series appear with the first bar; wait for it so only hostile traffic
    // could add a series from here on.
    wait_ready(&app).await;
    scrape(&app).await; // the scrape's own series exists from here on
    let before = scrape(&app).await;
    let series_before = series_count(&before, "zigquant_");
    for i in 0..10_000 {
        let method = methods[(next() % methods.len() as u64) as usize];
        let (kind, with_key, r) = (next() % 4, next() % 2 == 0, next() | (1 << 40));
        let answer = send(&app, request(method, kind, with_key, i, r)).await;
        assert!(
            answer.status.is_client_error() || answer.status.is_success(),
            "{}",
            answer.status
        );
    }
    let after = scrape(&app).await;
    let api_before = series_count(&before, "zigquant_api_");
    let api_after = series_count(&after, "zigquant_api_");
    let new: Vec<&str> = after
        .lines()
        .filter(|l| {
            l.starts_with("zigquant_api_") && {
                let key = l.rsplit_once(' ').map_or(*l, |(k, _)| k);
                !before.lines().any(|b| b.starts_with(key))
            }
        })
        .collect();
    assert_eq!(
        api_before, api_after,
        "hostile requests added API series: {new:#?}"
    );
    let new_any: Vec<&str> = after
        .lines()
        .filter(|l| {
            l.starts_with("zigquant_") && {
                let key = l.rsplit_once(' ').map_or(*l, |(k, _)| k);
                !before.lines().any(|b| b.starts_with(key))
            }
        })
        .collect();
    assert_eq!(
        series_before,
        series_count(&after, "zigquant_"),
        "new series: {new_any:#?}"
    );
    assert!(after.contains("path=\"unmatched\""));
    assert!(after.contains("method=\"OTHER\""));
    assert!(!after.contains("/random/"), "a raw URL leaked into a label");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_negotiates_format_and_gzip() {
    let Service { app, .. } = service();
    let text = send(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(
        text.headers[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(text
        .text()
        .contains("# TYPE zigquant_journal_write_errors_total counter"));

    let prometheus_accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let om = send(
        &app,
        Request::get("/metrics")
            .header(header::ACCEPT, prometheus_accept)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        om.headers[header::CONTENT_TYPE],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(om.text().ends_with("# EOF\n"));
    assert!(om
        .text()
        .contains("# TYPE zigquant_journal_write_errors counter"));

    let gz = send(
        &app,
        Request::get("/metrics")
            .header(header::ACCEPT_ENCODING, "gzip")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(gz.headers[header::CONTENT_ENCODING], "gzip");
    let mut decoded = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&gz.body[..]),
        &mut decoded,
    )
    .expect("valid gzip");
    assert!(decoded.contains("zigquant_uptime_seconds"));
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_token_is_enforced_when_configured() {
    let mut config = test_config();
    config.metrics.bearer_token = Some("scrape-token-0123456789".into());
    let Service { app, .. } = build(&config).unwrap();
    let denied = send(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    denied.assert_error(StatusCode::UNAUTHORIZED);
    let allowed = send(
        &app,
        Request::get("/metrics")
            .header(header::AUTHORIZATION, "Bearer scrape-token-0123456789")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert!(!allowed.text().contains("scrape-token"));
}

#[tokio::test(flavor = "multi_thread")]
async fn request_metrics_use_route_templates() {
    let Service { app, .. } = service();
    for _ in 0..3 {
        get(&app, "/api/v1/orders/424242").await;
    }
    let exposition = scrape(&app).await;
    assert_eq!(
        sample(
            &exposition,
            "zigquant_api_requests_total{method=\"GET\",path=\"/api/v1/orders/{id}\",status=\"404\"}"
        ),
        Some(3.0),
        "{exposition}"
    );
    assert!(!exposition.contains("424242"));
    assert_eq!(
        sample(
            &exposition,
            "zigquant_api_latency_seconds_count{method=\"GET\",path=\"/api/v1/orders/{id}\"}"
        ),
        Some(3.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn summary_and_health() {
    let Service { app, .. } = service();
    let health = send(&app, Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(health.status, StatusCode::OK);
    let summary = get(&app, "/api/v1/metrics").await;
    assert_eq!(summary.status, StatusCode::OK);
    let summary = summary.json();
    for key in [
        "trades_total",
        "orders_total",
        "uptime_seconds",
        "max_drawdown",
        "var_95",
        "strategies",
    ] {
        assert!(summary.get(key).is_some(), "{key} in {summary}");
    }
    wait_ready(&app).await;
}

/// Waits until `/ready` says the journal is open and the feeds have delivered a bar.
async fn wait_ready(app: &App) {
    for _ in 0..200 {
        let answer = send(app, Request::get("/ready").body(Body::empty()).unwrap()).await;
        if answer.status == StatusCode::OK {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("/ready never became ready");
}

/// Over a real socket: the server answers, and the open-connections gauge counts a keep-alive
/// connection while it is open and forgets it once closed.
#[tokio::test(flavor = "multi_thread")]
async fn real_socket_counts_open_connections() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Service { app, state, .. } = service();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = zigquant_server::listener::CountingListener::new(
        listener,
        state.catalogue.api_connections_active.clone(),
    );
    let server = tokio::spawn(zigquant_server::serve::serve_http(
        listener,
        app,
        std::future::pending(),
    ));

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(state.catalogue.api_connections_active.get(), 1.0);
    drop(stream);
    let mut closed = false;
    for _ in 0..100 {
        if state.catalogue.api_connections_active.get() == 0.0 {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        closed,
        "the gauge did not return to 0 after the client closed"
    );
    server.abort();
}

/// Authenticated requests carry a request id (the audit trail's): a sane client-chosen
/// `X-Request-Id` is echoed, anything else is replaced by a random one.
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
    assert!(
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
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
        assert_eq!(id.len(), 16);
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
