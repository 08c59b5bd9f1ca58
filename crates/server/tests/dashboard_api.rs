//! What the dashboard reads, as any client sees it: the page and its files (headers, ETag, gzip),
//! `GET /api/v1/equity`, `GET /api/v1/alerts` and the `GET /api/v1/events` stream.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use zigquant_server::api::App;
use zigquant_server::serve::Service;

const KEY: &str = "dashboard-test-key-0123456789";

fn service() -> Service {
    common::service("dashboard", KEY)
}

fn request(method: Method, uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
}

async fn get(app: &App, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app
        .clone()
        .oneshot(request(Method::GET, uri).body(Body::empty()).unwrap())
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("body");
    (status, headers, body.to_bytes().to_vec())
}

async fn get_json(app: &App, uri: &str) -> (StatusCode, Value) {
    let (status, _, body) = get(app, uri).await;
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, json)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_is_served_with_strict_headers_etag_and_gzip() {
    let Service { app, .. } = service();
    let (status, headers, body) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("<script src=\"/ui/dashboard.js\""));
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    assert!(!headers.contains_key(header::SET_COOKIE));
    let etag = headers[header::ETAG].clone();

    let not_modified = app
        .clone()
        .oneshot(
            Request::get("/")
                .header(header::IF_NONE_MATCH, etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);

    let gz = app
        .clone()
        .oneshot(
            Request::get("/ui/chart.js")
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
    let compressed = gz.into_body().collect().await.unwrap().to_bytes();
    let mut plain = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&compressed[..]),
        &mut plain,
    )
    .expect("valid gzip");
    assert_eq!(Some(plain.as_str()), zigquant_server::ui::asset("chart.js"));

    for uri in ["/ui/nope.js", "/ui/..%2Fsrc%2Fmain.rs", "/ui/"] {
        let (status, body) = get_json(&app, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(body["error"]["code"], "not_found", "{uri}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn equity_is_downsampled_and_validated() {
    let Service { app, .. } = service();
    let mut body = Value::Null;
    for _ in 0..200 {
        let (status, b) = get_json(&app, "/api/v1/equity?scope=portfolio").await;
        assert_eq!(status, StatusCode::OK, "{b}");
        body = b;
        if body["points"].as_array().is_some_and(|p| p.len() >= 6) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let points = body["points"].as_array().expect("points");
    assert!(
        points.len() >= 6,
        "the simulation produced equity points: {body}"
    );
    assert!(points
        .windows(2)
        .all(|w| w[0][0].as_i64() <= w[1][0].as_i64()));
    let since = points[points.len() - 2][0].as_i64().unwrap();

    let (_, small) = get_json(&app, "/api/v1/equity?max_points=2").await;
    assert!(small["points"].as_array().unwrap().len() <= 2);
    assert!(small["points_in_range"].as_u64().unwrap() >= 6);
    let (_, recent) = get_json(&app, &format!("/api/v1/equity?since={since}")).await;
    assert!(recent["points"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p[0].as_i64().unwrap() >= since));
    let (status, _) = get_json(&app, "/api/v1/equity?scope=sma_cross").await;
    assert_eq!(status, StatusCode::OK);

    for (uri, want, code) in [
        (
            "/api/v1/equity?scope=nope",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/v1/equity?max_points=1",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_max_points",
        ),
        (
            "/api/v1/equity?max_points=100000",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_max_points",
        ),
        (
            "/api/v1/equity?since=yesterday",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/api/v1/equity?bogus=1",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/api/v1/alerts?limit=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_limit",
        ),
    ] {
        let (status, body) = get_json(&app, uri).await;
        assert_eq!(status, want, "{uri}: {body}");
        assert_eq!(body["error"]["code"], code, "{uri}");
    }
    let (status, alerts) = get_json(&app, "/api/v1/alerts?limit=5").await;
    assert_eq!(status, StatusCode::OK);
    assert!(alerts["items"].as_array().unwrap().len() <= 5);
    assert!(alerts["raised_since_start"].is_u64());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_event_stream_reports_changes_and_ends_at_shutdown() {
    let Service { app, state, .. } = service();
    let response = app
        .clone()
        .oneshot(
            request(Method::GET, "/api/v1/events")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let mut body = response.into_body();

    let (status, _) = {
        let response = app
            .clone()
            .oneshot(
                request(Method::POST, "/api/v1/strategies/sma_cross/stop")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        (response.status(), ())
    };
    assert_eq!(status, StatusCode::OK);

    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.expect("frame").into_data() {
                seen.push_str(&String::from_utf8_lossy(&data));
                if seen.contains("event: strategy\ndata: {\"type\":\"strategy\",\"strategy\":\"sma_cross\",\"running\":false}") {
                    return true;
                }
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "stream so far: {seen}");

    state.live_view.close();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(frame) = body.frame().await {
            frame.expect("frame");
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ends when the service shuts down");
}
