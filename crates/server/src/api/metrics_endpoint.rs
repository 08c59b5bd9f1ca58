//! `GET /metrics`: the catalogue in the format the scraper asks for, gzip when it allows it.

use std::io::Write;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use flate2::write::GzEncoder;
use flate2::Compression;
use zigquant_metrics::Format;

use super::guard::authorize_metrics;
use super::SharedState;
use crate::connection::ClientAddr;

/// Serves one scrape.
pub async fn metrics(
    State(state): State<SharedState>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
) -> Response {
    let ip = client.map(|Extension(ClientAddr(addr))| addr.ip());
    if let Err(refusal) = authorize_metrics(&state, &headers, ip).await {
        return refusal;
    }
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let mut body = Vec::with_capacity(16 * 1024);
    state.catalogue.encode(format, &mut body);

    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response_headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    if accepts_gzip(&headers) {
        let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
        if encoder.write_all(&body).is_ok() {
            if let Ok(compressed) = encoder.finish() {
                response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                return (StatusCode::OK, response_headers, compressed).into_response();
            }
        }
    }
    (StatusCode::OK, response_headers, body).into_response()
}

/// True when `Accept-Encoding` lists gzip (or `*`) with a non-zero q-value.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut wildcard = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let q = parts
                .filter_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .or_else(|| p.trim().strip_prefix("Q="))
                })
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(q);
            } else if coding == "*" {
                wildcard = Some(q);
            }
        }
    }
    gzip.or(wildcard).is_some_and(|q| q > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn gzip_negotiation_follows_q_values() {
        assert!(accepts_gzip(&with("gzip")));
        assert!(accepts_gzip(&with("deflate, gzip;q=0.5")));
        assert!(accepts_gzip(&with("*")));
        assert!(!accepts_gzip(&with("gzip;q=0")));
        assert!(!accepts_gzip(&with("identity")));
        assert!(!accepts_gzip(&with("*;q=0, br")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
