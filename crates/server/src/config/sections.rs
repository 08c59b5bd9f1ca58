//! The server's own sections of the document (`[server]`, `[api]`, `[metrics]`) with their
//! defaults, and how a listen address is read.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

use crate::identity::BotName;

/// Process-level settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the HTTP server binds; host names (`localhost:8080`) are resolved.
    #[serde(deserialize_with = "deserialize_listen")]
    pub listen: SocketAddr,
    /// Directory of the journal and the generated API key.
    pub data_dir: PathBuf,
    /// Prometheus exporter-toolkit web config (TLS, basic auth, headers); flag `--web.config.file`.
    pub web_config_file: Option<PathBuf>,
    /// The bot's name in a fleet; `None` until [`Config::load`] fills in the host name.
    pub name: Option<BotName>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            web_config_file: None,
            name: None,
        }
    }
}

impl ServerConfig {
    /// The bot's name: configured, or this host's name.
    pub fn bot_name(&self) -> BotName {
        self.name.clone().unwrap_or_else(BotName::from_host)
    }
}

/// REST API settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Accepted bearer keys.
    pub keys: Vec<String>,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Largest page a list endpoint returns.
    pub max_page_size: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            body_limit_bytes: 64 * 1024,
            max_page_size: 500,
        }
    }
}

/// `/metrics` settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// When set, scrapes must send `Authorization: Bearer <token>`.
    pub bearer_token: Option<String>,
    /// Bucket bounds of `zigquant_order_latency_seconds`.
    pub order_latency_buckets: Vec<f64>,
    /// Bucket bounds of `zigquant_api_latency_seconds`.
    pub api_latency_buckets: Vec<f64>,
    /// Bucket bounds of `zigquant_market_data_delay_seconds` (live venues only).
    pub market_data_delay_buckets: Vec<f64>,
    /// Growth factor between neighbouring native buckets of the two latency histograms (the
    /// schema is the finest at or below it, as client_golang picks it: 1.1 gives schema 3).
    pub native_histogram_bucket_factor: f64,
    /// Most native buckets one latency series shows; the schema is reduced to fit.
    pub native_histogram_max_buckets: u32,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            bearer_token: None,
            order_latency_buckets: vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ],
            api_latency_buckets: vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ],
            market_data_delay_buckets: vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ],
            native_histogram_bucket_factor: 1.1,
            native_histogram_max_buckets: 160,
        }
    }
}

/// Resolves a listen address: `IP:PORT`, `[IPv6]:PORT` or `HOST:PORT`. A host name that resolves
/// to several addresses binds the first IPv4 one (what `localhost` means to most clients),
/// else the first.
pub fn resolve_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if !text.contains(':') {
        return Err(format!(
            "{text:?} has no port: write HOST:PORT, e.g. localhost:8080 or 0.0.0.0:8080"
        ));
    }
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {text:?}: {e}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("{text:?} resolves to no address"))
}

fn deserialize_listen<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(deserializer)?;
    resolve_listen(&text).map_err(serde::de::Error::custom)
}
