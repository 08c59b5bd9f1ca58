//! The one error type of the HTTP API: every failure becomes a status and a JSON body
//! `{"error": {"code": ..., "message": ...}}`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::bodies::{ErrorBody, ErrorDetail};

/// An API failure with its HTTP status, a stable machine-readable code and a human message.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status sent.
    pub status: StatusCode,
    /// Stable code clients can match on, e.g. `unknown_pair`.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

impl ApiError {
    /// An error with the given status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 401: the bearer key is missing or wrong.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid bearer token: send `Authorization: Bearer <key>`",
        )
    }

    /// 404 for a route or a resource that does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 422: well-formed input that cannot be acted on.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 503: the engine is not able to answer.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"zigquant\""),
            );
        }
        response
    }
}

/// Rewrites a parser's message into the API's voice: no Rust type names (`f64`, `u64`,
/// `struct PlaceOrder`), no framework prefixes, lower-case first letter.
pub fn plain(message: &str) -> String {
    const PREFIXES: [&str; 4] = [
        "Failed to deserialize the JSON body into the target type: ",
        "Failed to deserialize query string: ",
        "Failed to parse the request body as JSON: ",
        "Failed to buffer the request body: ",
    ];
    let mut text = message;
    for prefix in PREFIXES {
        if let Some(rest) = text.strip_prefix(prefix) {
            text = rest;
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut words = text.split(' ').peekable();
    while let Some(word) = words.next() {
        if !out.is_empty() {
            out.push(' ');
        }
        let core = word.trim_end_matches([',', '.', ';']);
        let tail = &word[core.len()..];
        let replacement = match core {
            "f64" | "f32" => Some("a number"),
            "u64" | "u32" | "u16" | "u8" | "usize" => Some("a non-negative integer"),
            "i64" | "i32" | "isize" => Some("an integer"),
            "struct" => {
                // `struct PlaceOrder` -> `an object`
                words.next();
                Some("an object")
            }
            _ => None,
        };
        match replacement {
            Some(r) => {
                out.push_str(r);
                out.push_str(tail);
            }
            None => out.push_str(word),
        }
    }
    let mut chars = out.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => out,
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let (code, message) = match status {
            StatusCode::PAYLOAD_TOO_LARGE => (
                "body_too_large",
                "request body is larger than api.body_limit_bytes".to_string(),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`".to_string(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY => (
                "invalid_field",
                format!("request body: {}", plain(&rejection.body_text())),
            ),
            _ => (
                "malformed_json",
                format!(
                    "request body is not valid JSON: {}",
                    plain(&rejection.body_text())
                ),
            ),
        };
        Self::new(status, code, message)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("query string: {}", plain(&rejection.body_text())),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            format!("path: {}", plain(&rejection.body_text())),
        )
    }
}

impl ApiError {
    /// 400 for an order id in the path that is not a positive integer.
    pub fn invalid_order_id() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            "order id must be a positive integer",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn parser_messages_lose_rust_names_and_prefixes() {
        assert_eq!(
            plain("Failed to deserialize the JSON body into the target type: qty: invalid type: string \"x\", expected f64 at line 1 column 9"),
            "qty: invalid type: string \"x\", expected a number at line 1 column 9"
        );
        assert_eq!(
            plain("invalid type: integer `1`, expected struct PlaceOrder"),
            "invalid type: integer `1`, expected an object"
        );
        assert_eq!(
            plain("Failed to deserialize query string: limit: invalid digit found in string"),
            "limit: invalid digit found in string"
        );
    }
}
