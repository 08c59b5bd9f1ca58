//! `--web.config.file`: TLS, basic auth and response headers in the Prometheus exporter-toolkit
//! format that node_exporter and the official exporters read (docs/web-config.md), so an
//! operator's existing file and habits carry over.
//!
//! Parsing follows the toolkit: unknown keys are errors, relative paths are relative to the
//! file's directory, and invalid files get the toolkit's messages (`missing one of cert or
//! cert_file`, `unknown cipher: X`, `invalid ClientAuth: X`, ...). Where rustls cannot do what Go
//! can (TLS 1.0/1.1, CBC and RSA-key-exchange suites, P-521), the file is refused with a message
//! that says so rather than silently served weaker or differently. The file and every file it
//! names are re-read when they change ([`live`]).

mod basic_auth;
mod live;
mod tls;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;

pub use basic_auth::{BasicAuthUsers, BasicCredentials};
pub use live::LiveWebConfig;

/// Why a web config file cannot be used. The message is the toolkit's where it has one.
#[derive(Debug, thiserror::Error)]
#[error("web config {path}: {message}")]
pub struct WebConfigError {
    /// The web config file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

/// The file as written (exporter-toolkit `web.Config`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfigFile {
    /// TLS settings; TLS is on when any certificate, key or client-auth field is set.
    #[serde(default)]
    pub tls_server_config: TlsServerConfig,
    /// HTTP settings.
    #[serde(default)]
    pub http_server_config: HttpServerConfig,
    /// User name -> bcrypt hash; when non-empty, `/metrics` accepts these users.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
    /// A server-wide request rate limit (toolkit `rate_limit`).
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
}

/// `tls_server_config` (exporter-toolkit `web.TLSConfig`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    /// Inline server certificate (PEM).
    pub cert: Option<String>,
    /// Inline server key (PEM).
    pub key: Option<String>,
    /// Inline client CA certificates (PEM).
    pub client_ca: Option<String>,
    /// Server certificate file (PEM, leaf first, then intermediates).
    pub cert_file: Option<String>,
    /// Server key file (PEM).
    pub key_file: Option<String>,
    /// NoClientCert (default), RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven,
    /// RequireAndVerifyClientCert.
    pub client_auth_type: Option<String>,
    /// Client CA file (PEM).
    pub client_ca_file: Option<String>,
    /// TLS 1.2 cipher suites by Go name; TLS 1.3 suites are always on (as in Go).
    #[serde(default)]
    pub cipher_suites: Vec<String>,
    /// Key exchange groups: X25519, CurveP256, CurveP384.
    #[serde(default)]
    pub curve_preferences: Vec<String>,
    /// TLS12 (default) or TLS13.
    pub min_version: Option<String>,
    /// TLS13 (default) or TLS12.
    pub max_version: Option<String>,
    /// Server picks the cipher suite (default true).
    pub prefer_server_cipher_suites: Option<bool>,
    /// When set, a client certificate must carry one of these SANs (DNS names or IPs).
    pub client_allowed_sans: Option<Vec<String>>,
}

impl TlsServerConfig {
    /// The toolkit's `IsEnabled`: any certificate, key or client-auth field set.
    pub fn is_enabled(&self) -> bool {
        [
            &self.cert,
            &self.key,
            &self.client_ca,
            &self.cert_file,
            &self.key_file,
            &self.client_ca_file,
            &self.client_auth_type,
        ]
        .iter()
        .any(|f| f.as_deref().is_some_and(|s| !s.is_empty()))
    }
}

/// `http_server_config`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    /// Accepted for compatibility; zigquant serves HTTP/1.1 only.
    #[serde(default = "yes")]
    pub http2: bool,
    /// Extra response headers, from the toolkit's closed list.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl Default for HttpServerConfig {
    fn default() -> Self {
        Self {
            http2: true,
            headers: BTreeMap::new(),
        }
    }
}

fn yes() -> bool {
    true
}

/// `rate_limit`: at most one request per `interval` on average, `burst` at once, server-wide.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests allowed at once.
    #[serde(default)]
    pub burst: u32,
    /// Go duration between requests, e.g. `100ms`; empty or 0 turns the limit off.
    #[serde(default)]
    pub interval: Option<String>,
}

/// The headers the toolkit lets a web config set, with their allowed values (empty: any value).
const CONFIGURABLE_HEADERS: [(&str, &[&str]); 5] = [
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

/// A web config ready to serve: what the accept loop, the auth checks and the response
/// decoration need.
#[derive(Debug)]
pub struct LoadedWebConfig {
    /// The rustls configuration, when TLS is on.
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// Basic-auth users (may be empty).
    pub users: Arc<BasicAuthUsers>,
    /// Headers added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Server-wide rate: (burst, interval).
    pub rate_limit: Option<(u32, Duration)>,
    /// Every file this config was read from (itself first), to notice changes.
    pub files: Vec<PathBuf>,
}

impl LoadedWebConfig {
    /// Reads, checks and prepares `path` and the files it names.
    pub fn load(path: &Path) -> Result<Self, WebConfigError> {
        let fail = |message: String| WebConfigError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let file = parse(&text).map_err(&fail)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let tls = if file.tls_server_config.is_enabled() {
            Some(Arc::new(
                tls::server_config(&file.tls_server_config, dir).map_err(&fail)?,
            ))
        } else {
            None
        };
        let users = BasicAuthUsers::new(file.basic_auth_users).map_err(&fail)?;
        let headers = headers(&file.http_server_config.headers).map_err(&fail)?;
        let rate_limit = match &file.rate_limit {
            Some(RateLimitConfig {
                burst,
                interval: Some(interval),
            }) => {
                let every = parse_go_duration(interval).map_err(&fail)?;
                (!every.is_zero()).then_some((*burst, every))
            }
            _ => None,
        };
        let mut files = vec![path.to_path_buf()];
        files.extend(tls::files(&file.tls_server_config, dir));
        Ok(Self {
            tls,
            users: Arc::new(users),
            headers,
            rate_limit,
            files,
        })
    }
}

/// Parses the YAML (strictly: unknown keys are errors) and checks the headers.
pub fn parse(text: &str) -> Result<WebConfigFile, String> {
    // An empty file is a valid config that turns nothing on, as in the toolkit.
    if text.trim().is_empty() {
        return Ok(WebConfigFile::default());
    }
    let file: WebConfigFile = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    headers(&file.http_server_config.headers)?;
    Ok(file)
}

/// The toolkit's header check: only its closed list, and its allowed values where it has some.
fn headers(
    configured: &BTreeMap<String, String>,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut out = Vec::new();
    for (name, value) in configured {
        let Some((_, allowed)) = CONFIGURABLE_HEADERS.iter().find(|(n, _)| n == name) else {
            return Err(format!("HTTP header {name:?} can not be configured"));
        };
        if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
            return Err(format!(
                "invalid value for {name}. Expected one of: {allowed:?}, but got: {value:?}"
            ));
        }
        let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
        let header_value = HeaderValue::from_str(value)
            .map_err(|_| format!("invalid value for {name}: not a valid HTTP header value"))?;
        out.push((header_name, header_value));
    }
    Ok(out)
}

/// A Go duration (`1s`, `1m30s`, `250ms`, `1.5h`, `0`).
fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("time: invalid duration {text:?}");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..number_len].parse().map_err(|_| bad())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * seconds;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// Resolves a path of the web config relative to the file's directory (toolkit `JoinDir`).
fn join_dir(dir: &Path, file: &str) -> PathBuf {
    let path = Path::new(file);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_go_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_go_duration("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_go_duration("1x").is_err());
        assert!(parse_go_duration("s").is_err());
        assert!(parse_go_duration("").is_err());
    }

    #[test]
    fn headers_follow_the_toolkit_list() {
        let ok = parse(
            "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n    Strict-Transport-Security: max-age=31536000\n",
        )
        .unwrap();
        assert_eq!(ok.http_server_config.headers.len(), 2);
        let err = parse("http_server_config:\n  headers:\n    Foo: bar\n").unwrap_err();
        assert_eq!(err, "HTTP header \"Foo\" can not be configured");
        let err =
            parse("http_server_config:\n  headers:\n    X-Frame-Options: allow\n").unwrap_err();
        assert!(
            err.starts_with("invalid value for X-Frame-Options."),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = parse("tls_server_config:\n  cert_filee: x\n").unwrap_err();
        assert!(err.contains("cert_filee"), "{err}");
        assert!(parse("").is_ok());
    }
}
