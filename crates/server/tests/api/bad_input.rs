//! Bad input gets a JSON 4xx in one voice, and hostile traffic adds no series.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use zigquant_server::serve::{build, Service};

use crate::harness::*;

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
