//! Authentication of `/api/v1` (bearer keys) and `/metrics` (its bearer token or the web
//! config's basic-auth users), with the per-address auth-failure limit in front of both.
//!
//! An attacker learns nothing from a refusal: every failure is the same 401 body, keys are
//! compared in constant time against all keys, unknown basic-auth users are checked against a
//! decoy hash, and once an address has used up its failures it gets 429 without any check.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState, RequestId, SharedState, REQUEST_ID_HEADER};
use crate::auth::{bearer_token, constant_time_eq};
use crate::connection::{too_many_requests, ClientAddr};
use crate::keys::KeyName;
use crate::web_config::BasicCredentials;
use zigquant_metrics::labels::{AuthFailureLabels, AuthFailureReason};

/// Who made an authenticated `/api/v1` request (a request extension, for the audit trail).
#[derive(Clone, Debug)]
pub struct Caller {
    /// The name of the key used (never the key).
    pub key: KeyName,
    /// The client's address, when the request came over a socket.
    pub addr: Option<IpAddr>,
    /// The request's id: the client's `X-Request-Id` when it is a sane one, else a new one;
    /// echoed in the response so a client can find its request in the audit trail.
    pub request_id: RequestId,
}

/// The client's `X-Request-Id` if it is 1 to 64 characters of `A-Z a-z 0-9 . _ -`, else a new
/// one: what reaches the audit trail is bounded and printable. The same rule and generator as
/// the request metrics' exemplar ([`RequestId`]): inline, no allocation, no system call.
fn request_id(request: &Request) -> RequestId {
    request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|id| RequestId::from_client(id.as_bytes()))
        .unwrap_or_else(RequestId::next)
}

/// Why authentication failed: the bounded `reason` label of `zigquant_api_auth_failures_total`.
type AuthFailure = AuthFailureReason;

fn client_ip(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ClientAddr>()
        .map(|ClientAddr(addr)| addr.ip())
}

/// 429 when `ip` has used up its failed authentications.
fn throttled(state: &AppState, ip: Option<IpAddr>) -> Option<Response> {
    let ip = ip?;
    let retry = state.limits.auth_allowed(ip).err()?;
    tracing::debug!(client = %ip, retry_after_s = retry.0, "authentication throttled");
    state
        .catalogue
        .api_auth_failures_total
        .get(&AuthFailureLabels {
            reason: AuthFailureReason::Throttled,
        })
        .inc();
    Some(too_many_requests(
        "too many failed authentications from your address",
        retry,
    ))
}

fn record_failure(state: &AppState, ip: Option<IpAddr>, failure: AuthFailure) {
    state
        .catalogue
        .api_auth_failures_total
        .get(&AuthFailureLabels { reason: failure })
        .inc();
    if let Some(ip) = ip {
        state.limits.record_auth_failure(ip);
    }
    // The address and the reason only: never what was presented.
    tracing::debug!(client = ?ip, reason = failure.as_str(), "authentication failed");
}

/// Rejects `/api/v1` requests without a valid bearer key; lets the rest through with a [`Caller`].
pub async fn require_key(
    State(state): State<SharedState>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = client_ip(&request);
    if let Some(refusal) = throttled(&state, ip) {
        return refusal;
    }
    let outcome = match request.headers().get(header::AUTHORIZATION) {
        None => Err(AuthFailure::Missing),
        Some(value) => match bearer_token(value.as_bytes()) {
            None => Err(AuthFailure::Malformed),
            Some(token) => state
                .keys
                .authenticate(token)
                .ok_or(AuthFailure::InvalidKey),
        },
    };
    match outcome {
        Ok(key) => {
            let request_id = request_id(&request);
            let echoed = HeaderValue::from_str(request_id.as_str()).ok();
            request.extensions_mut().insert(Caller {
                key,
                addr: ip,
                request_id,
            });
            let mut response = next.run(request).await;
            if let Some(id) = echoed {
                response.headers_mut().insert(REQUEST_ID_HEADER, id);
            }
            response
        }
        Err(failure) => {
            record_failure(&state, ip, failure);
            ApiError::unauthorized().into_response()
        }
    }
}

/// Checks a `/metrics` request: open unless a bearer token or basic-auth users are configured;
/// then either one will do. Err is the response to send.
pub async fn authorize_metrics(
    state: &AppState,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
) -> Result<(), Response> {
    let users = state
        .web
        .as_ref()
        .map(|web| web.current().users.clone())
        .filter(|users| !users.is_empty());
    if state.metrics_token.is_none() && users.is_none() {
        return Ok(());
    }
    if let Some(refusal) = throttled(state, ip) {
        return Err(refusal);
    }
    let outcome = match headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes)
    {
        None => Err(AuthFailure::Missing),
        Some(value) => {
            if let Some(token) = bearer_token(value) {
                match &state.metrics_token {
                    Some(expected) if constant_time_eq(token, expected.as_bytes()) => Ok(()),
                    _ => Err(AuthFailure::InvalidKey),
                }
            } else if let Some(credentials) = BasicCredentials::parse(value) {
                match users.clone() {
                    Some(users) => {
                        let ok = tokio::task::spawn_blocking(move || users.verify(&credentials))
                            .await
                            .unwrap_or(false);
                        if ok {
                            Ok(())
                        } else {
                            Err(AuthFailure::InvalidBasicAuth)
                        }
                    }
                    None => Err(AuthFailure::InvalidBasicAuth),
                }
            } else {
                Err(AuthFailure::Malformed)
            }
        }
    };
    outcome.map_err(|failure| {
        record_failure(state, ip, failure);
        let mut response = ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid credentials for /metrics",
        )
        .into_response();
        if users.is_some() {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"zigquant\""),
            );
        }
        response
    })
}
