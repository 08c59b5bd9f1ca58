//! `/metrics` next to the API: format negotiation and gzip, the scrape token, route-template
//! labels, and open connections counted over a real socket.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use zigquant_server::serve::{build, Service};

use crate::harness::*;

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
