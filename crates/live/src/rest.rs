//! The REST history client: one HTTP/1.1 request per connection (history is fetched at start,
//! after a reconnect and on a gap, never in a hot loop), with a deadline and a body size cap.
//! 429 and 5xx answers, timeouts and refused connections are all a [`RestError`]; the caller
//! counts them as `rest_failed` and retries with backoff.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

use crate::protocol::HistoryRequest;
use crate::transport::{self, Endpoint, Tls, TransportError};

/// Largest history answer read (5000 Hyperliquid candles are about 1 MB).
const MAX_BODY_BYTES: usize = 16 << 20;

/// Why a REST request failed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// Could not connect.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// HTTP protocol failure (connection closed mid-answer, bad answer).
    #[error("HTTP: {0}")]
    Http(String),
    /// The venue answered with a non-2xx status (429 = rate limited, 5xx = venue trouble).
    #[error("HTTP status {status}: {body}")]
    Status {
        /// The status.
        status: StatusCode,
        /// The start of the body, for the log.
        body: String,
    },
    /// No complete answer within the deadline.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// A venue's REST base URL and TLS settings.
#[derive(Clone, Debug)]
pub struct RestClient {
    base: Endpoint,
    tls: Tls,
    timeout: Duration,
}

impl RestClient {
    /// A client for `rest_url` (e.g. `https://api.binance.com`); the whole request, connect
    /// included, must finish within `timeout`.
    pub fn new(rest_url: &str, tls: Tls, timeout: Duration) -> Result<Self, TransportError> {
        let base = Endpoint::parse(rest_url)?;
        Ok(Self { base, tls, timeout })
    }

    /// Sends `request` and returns the body of a 2xx answer.
    pub async fn send(&self, request: &HistoryRequest) -> Result<Bytes, RestError> {
        tokio::time::timeout(self.timeout, self.send_inner(request))
            .await
            .unwrap_or(Err(RestError::Timeout(self.timeout)))
    }

    async fn send_inner(&self, request: &HistoryRequest) -> Result<Bytes, RestError> {
        let prefix = self.base.path.trim_end_matches('/');
        let (method, target, body, json) = match request {
            HistoryRequest::Get { path_and_query } => (
                Method::GET,
                format!("{prefix}{path_and_query}"),
                Bytes::new(),
                false,
            ),
            HistoryRequest::PostJson { path, body } => (
                Method::POST,
                format!("{prefix}{path}"),
                Bytes::from(body.clone()),
                true,
            ),
        };
        let stream = transport::connect(&self.base, &self.tls, self.timeout).await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| RestError::Http(e.to_string()))?;
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut builder = Request::builder()
            .method(method)
            .uri(target)
            .header(HOST, self.base.host_header())
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, concat!("zigquant/", env!("CARGO_PKG_VERSION")));
        if json {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        let http_request = builder
            .body(Full::new(body))
            .map_err(|e| RestError::Http(e.to_string()))?;
        let result = async {
            let response = sender
                .send_request(http_request)
                .await
                .map_err(|e| RestError::Http(e.to_string()))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
                .collect()
                .await
                .map_err(|e| RestError::Http(e.to_string()))?
                .to_bytes();
            if status.is_success() {
                Ok(body)
            } else {
                let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                Err(RestError::Status { status, body: text })
            }
        }
        .await;
        driver.abort();
        result
    }
}
