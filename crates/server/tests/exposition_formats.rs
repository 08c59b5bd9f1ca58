//! `/metrics` in the formats only some scrapers ask for: protobuf (Prometheus with native
//! histograms) and OpenMetrics with exemplars; and the request id that links the API latency
//! exemplar to the response and the access log.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use prost::Message;
use tower::ServiceExt;
use zigquant_metrics::proto::MetricFamily;
use zigquant_server::api::{App, REQUEST_ID_HEADER};
use zigquant_server::serve::Service;

/// What Prometheus 2.x sends with `--enable-feature=native-histograms`.
const NATIVE_ACCEPT: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

fn service() -> Service {
    common::service("formats", KEY)
}

const KEY: &str = "formats-test-key-0123456789abcdef";

async fn send(
    app: &App,
    uri: &str,
    accept: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::get(uri);
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_with_native_histograms_gets_protobuf() {
    let Service { app, .. } = service();
    send(&app, "/health", None).await;
    let (status, headers, body) = send(&app, "/metrics", Some(NATIVE_ACCEPT)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
    );
    let mut rest = &body[..];
    let mut families = Vec::new();
    while !rest.is_empty() {
        families.push(MetricFamily::decode_length_delimited(&mut rest).expect("a MetricFamily"));
    }
    let api = families
        .iter()
        .find(|f| f.name() == "zigquant_api_latency_seconds")
        .expect("api latency family");
    let health = api
        .metric
        .iter()
        .find(|m| m.label.iter().any(|l| l.value() == "/health"))
        .expect("the /health series");
    let h = health.histogram.as_ref().expect("histogram");
    assert_eq!(h.sample_count(), 1);
    assert_eq!(h.schema(), 3, "factor 1.1 -> schema 3");
    assert_eq!(
        h.positive_delta.iter().sum::<i64>(),
        1,
        "one native observation"
    );
    assert!(h.created_timestamp.is_some());
    let order = families
        .iter()
        .find(|f| f.name() == "zigquant_order_latency_seconds")
        .expect("order latency family");
    assert!(order.metric[0]
        .histogram
        .as_ref()
        .is_some_and(|h| h.schema.is_some()));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_latency_exemplar_names_the_request_id_the_client_got() {
    let Service { app, .. } = service();
    let request = Request::get("/api/v1/strategies")
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
        .body(Body::empty())
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let id = response.headers()[REQUEST_ID_HEADER]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(id.len() >= 8, "request id {id:?}");
    // Unauthenticated: no id back (the guard's rule), but an exemplar all the same.
    let (_, headers, _) = send(&app, "/health", None).await;
    assert!(headers.get(REQUEST_ID_HEADER).is_none());
    let (_, _, body) = send(
        &app,
        "/metrics",
        Some("application/openmetrics-text; version=1.0.0"),
    )
    .await;
    let om = String::from_utf8(body).expect("utf8");
    let exemplar_of = |path: &str| {
        om.lines()
            .find(|l| {
                l.starts_with(&format!(
                    "zigquant_api_latency_seconds_bucket{{method=\"GET\",path=\"{path}\""
                )) && l.contains(" # {request_id=")
            })
            .unwrap_or_else(|| panic!("an exemplar on the {path} latency:\n{om}"))
            .to_owned()
    };
    assert!(exemplar_of("/api/v1/strategies").contains(&format!("# {{request_id=\"{id}\"}}")));
    exemplar_of("/health");
    // Text 0.0.4 has no exemplars.
    let (_, _, text) = send(&app, "/metrics", None).await;
    assert!(!String::from_utf8_lossy(&text).contains(" # {"));
}

/// An authenticated call keeps the client's request id (the audit trail's too): the same id is
/// echoed once and is the latency exemplar.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_request_id_is_echoed_and_becomes_the_exemplar() {
    let Service { app, .. } = service();
    let request = Request::get("/api/v1/strategies")
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
        .header("x-request-id", "client-trace-7")
        .body(Body::empty())
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let echoed: Vec<_> = response
        .headers()
        .get_all(REQUEST_ID_HEADER)
        .iter()
        .collect();
    assert_eq!(echoed, ["client-trace-7"]);
    let (_, _, body) = send(
        &app,
        "/metrics",
        Some("application/openmetrics-text; version=1.0.0"),
    )
    .await;
    let om = String::from_utf8(body).expect("utf8");
    assert!(
        om.lines().any(|l| l.contains("path=\"/api/v1/strategies\"")
            && l.contains("# {request_id=\"client-trace-7\"}")),
        "{om}"
    );
}
