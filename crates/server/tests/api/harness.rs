//! The client side of the API tests: a service on the test config, requests with and without
//! the key, answers read whole, and a few scrape helpers.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use zigquant_server::api::App;
use zigquant_server::config::Config;
use zigquant_server::serve::{build, Service};

use crate::common;

pub const KEY: &str = "test-key-0123456789abcdef";

pub fn test_config() -> Config {
    let mut config = common::test_config("api", KEY);
    config.api.body_limit_bytes = 4096;
    config
}

pub fn service() -> Service {
    build(&test_config()).expect("service builds")
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the error shape every failure must have.
    pub fn assert_error(&self, status: StatusCode) -> String {
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

pub async fn send(app: &App, request: Request<Body>) -> Answer {
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

pub fn authed(method: Method, uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
}

pub fn post_json(uri: &str, body: &str) -> Request<Body> {
    authed(Method::POST, uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

pub async fn get(app: &App, uri: &str) -> Answer {
    send(app, authed(Method::GET, uri).body(Body::empty()).unwrap()).await
}

pub async fn scrape(app: &App) -> String {
    let answer = send(app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK);
    answer.text()
}

pub fn series_count(exposition: &str, prefix: &str) -> usize {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && l.starts_with(prefix))
        .count()
}

pub fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|l| {
        let rest = l.strip_prefix(series)?;
        rest.strip_prefix(' ')?.parse().ok()
    })
}

/// Waits until `/ready` says the journal is open and the feeds have delivered a bar.
pub async fn wait_ready(app: &App) {
    for _ in 0..200 {
        let answer = send(app, Request::get("/ready").body(Body::empty()).unwrap()).await;
        if answer.status == StatusCode::OK {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("/ready never became ready");
}
