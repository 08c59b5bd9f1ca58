//! The dashboard's files, embedded in the binary at compile time (no Node, no build step, no CDN:
//! the page works on a machine without internet) and served at `/` and `/ui/{file}` with an
//! ETag, gzip when the client allows it, and a strict Content-Security-Policy. The backtest
//! report inlines the same chart code and style sheet ([`asset`]).

use std::io::Write;
use std::sync::OnceLock;

use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::api::{accepts_gzip, ApiError};

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:literal) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!("../ui/", $name)),
        }
    };
}

/// Every file the dashboard and the report use (`ui/` next to this crate's `src/`).
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("chart.js", "text/javascript; charset=utf-8"),
    asset!("format.js", "text/javascript; charset=utf-8"),
    asset!("dashboard.js", "text/javascript; charset=utf-8"),
    asset!("report.js", "text/javascript; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// The page may load scripts, styles, images and data from this origin only; no inline script
/// or style, no eval, no framing, no plugins, no form posts elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The text of an embedded file (the report inlines these), or `None` for an unknown name.
pub fn asset(name: &str) -> Option<&'static str> {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .and_then(|a| std::str::from_utf8(a.bytes).ok())
}

/// Total size of the embedded files, uncompressed (the budget is 200 KB).
pub fn total_bytes() -> usize {
    ASSETS.iter().map(|a| a.bytes.len()).sum()
}

/// An asset with its ETag and gzip body, computed once.
struct Prepared {
    etag: HeaderValue,
    gzip: Option<Vec<u8>>,
}

fn prepared() -> &'static [Prepared] {
    static PREPARED: OnceLock<Vec<Prepared>> = OnceLock::new();
    PREPARED.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let etag = format!("\"{:016x}-{:x}\"", fnv1a(a.bytes), a.bytes.len());
                let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
                let gzip = encoder
                    .write_all(a.bytes)
                    .ok()
                    .and_then(|()| encoder.finish().ok())
                    .filter(|gz| gz.len() < a.bytes.len());
                Prepared {
                    etag: HeaderValue::from_str(&etag)
                        .unwrap_or_else(|_| HeaderValue::from_static("\"0\"")),
                    gzip,
                }
            })
            .collect()
    })
}

/// FNV-1a, 64 bit: enough to tell two versions of a file apart for caching.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `GET /`: the dashboard page.
pub async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /ui/{file}`: one of the page's files.
pub async fn file(file: Result<Path<String>, PathRejection>, headers: HeaderMap) -> Response {
    match file {
        Ok(Path(name)) => serve(&name, &headers),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn serve(name: &str, request: &HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|a| a.name == name) else {
        return ApiError::not_found("no such dashboard file").into_response();
    };
    let asset = &ASSETS[index];
    let prepared = &prepared()[index];
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::ETAG, prepared.etag.clone());
    // Always revalidate: a new binary must never run an old script against a new API.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let fresh = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/").as_bytes() == prepared.etag.as_bytes()
        });
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    match &prepared.gzip {
        Some(gzip) if accepts_gzip(request) => {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (StatusCode::OK, headers, gzip.clone()).into_response()
        }
        _ => (StatusCode::OK, headers, asset.bytes).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_fit_the_size_budget() {
        assert!(
            total_bytes() < 200 * 1024,
            "{} bytes of dashboard assets",
            total_bytes()
        );
    }

    #[test]
    fn pages_load_nothing_from_elsewhere() {
        for a in ASSETS {
            let text = String::from_utf8_lossy(a.bytes);
            for needle in ["http://", "https://", "//cdn", "eval(", "new Function"] {
                // The SVG namespace URI is a name, not a request.
                let hits = text
                    .match_indices(needle)
                    .filter(|(i, _)| !text[*i..].starts_with("http://www.w3.org/2000/svg"))
                    .count();
                assert_eq!(hits, 0, "{} contains {needle}", a.name);
            }
        }
    }
}
