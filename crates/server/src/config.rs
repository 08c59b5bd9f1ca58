//! The zigquant configuration: one TOML document, embedded defaults, and the precedence
//! flags > environment > file > defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use zigquant_engine::config::EngineConfig;

use crate::identity::{BotName, ConfigHash};
use crate::limits::LimitsConfig;

/// The server's own part of the default configuration file, with comments for users.
const DEFAULT_SERVER_TOML: &str = include_str!("../default-config.toml");
/// The engine's part of the default configuration file (owned by the engine crate).
const DEFAULT_ENGINE_TOML: &str = include_str!("../../engine/default-engine.toml");

/// Why a configuration could not be used; each message names the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The TOML is malformed or a key has the wrong type (the message names the key and line).
    #[error("invalid config {origin}: {message}")]
    Parse {
        /// Where the document came from.
        origin: String,
        /// toml's description, which names the key.
        message: String,
    },
    /// A value is well-formed but not usable.
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// The whole configuration document.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where to listen and keep data.
    #[serde(default)]
    pub server: ServerConfig,
    /// REST API settings.
    #[serde(default)]
    pub api: ApiConfig,
    /// `/metrics` settings.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Pairs, strategies, exchanges, faults and risk thresholds.
    #[serde(default)]
    pub engine: EngineConfig,
    /// Per-address limits on failed authentications, request rate and connections.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Hash of the document this configuration was parsed from (`zigquant_instance_info`).
    #[serde(skip)]
    pub document_hash: ConfigHash,
}

/// Process-level settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the HTTP server binds.
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
#[derive(Clone, Debug, Deserialize)]
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
#[derive(Clone, Debug, Deserialize)]
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

/// Overrides from flags and environment (clap merges the two, flags first).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--listen` / `ZQ_LISTEN`.
    pub listen: Option<SocketAddr>,
    /// `--data-dir` / `ZQ_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `ZQ_API_KEY`: one more accepted key.
    pub api_key: Option<String>,
    /// `--web.config.file` / `ZQ_WEB_CONFIG_FILE`.
    pub web_config_file: Option<PathBuf>,
    /// `--name` / `ZQ_NAME`: the bot's name (validated like `server.name`).
    pub name: Option<String>,
}

/// The default configuration document, as `zigquant config --default` prints it.
pub fn default_toml() -> String {
    format!("{DEFAULT_SERVER_TOML}{DEFAULT_ENGINE_TOML}")
}

impl Config {
    /// Parses a TOML document; keys it leaves out keep their defaults.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let mut config: Self = toml::from_str(text).map_err(|e| ConfigError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        config.document_hash = ConfigHash::of(text);
        Ok(config)
    }

    /// The embedded defaults.
    pub fn embedded_default() -> Result<Self, ConfigError> {
        Self::parse(&default_toml(), "(embedded default)")
    }

    /// Loads the file (or the embedded defaults), applies overrides, and validates the result.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                Self::parse(&text, &path.display().to_string())?
            }
            None => Self::embedded_default()?,
        };
        if let Some(listen) = overrides.listen {
            config.server.listen = listen;
        }
        if let Some(dir) = overrides.data_dir {
            config.server.data_dir = dir;
        }
        if let Some(file) = overrides.web_config_file {
            config.server.web_config_file = Some(file);
        }
        if let Some(key) = overrides.api_key.filter(|k| !k.is_empty()) {
            config.api.keys.push(key);
        }
        // An empty ZQ_NAME (`ZQ_NAME=${ZQ_NAME:-}` in a compose file) means unset, as for ZQ_API_KEY.
        if let Some(name) = overrides.name.filter(|n| !n.is_empty()) {
            let name = BotName::new(name)
                .map_err(|e| ConfigError::Invalid(format!("ZQ_NAME / --name: {e}")))?;
            config.server.name = Some(name);
        }
        if config.server.name.is_none() {
            config.server.name = Some(BotName::from_host());
        }
        config.validate()?;
        Ok(config)
    }

    /// The native histogram layout of `[metrics]`.
    pub fn native_histograms(&self) -> zigquant_metrics::NativeConfig {
        zigquant_metrics::NativeConfig {
            bucket_factor: self.metrics.native_histogram_bucket_factor,
            max_buckets: self.metrics.native_histogram_max_buckets,
        }
    }

    /// Checks what types alone cannot; messages name the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.native_histograms().validate().map_err(|e| {
            ConfigError::Invalid(format!(
                "metrics.native_histogram_bucket_factor / native_histogram_max_buckets: {e}"
            ))
        })?;
        for (field, bounds) in [
            (
                "metrics.order_latency_buckets",
                &self.metrics.order_latency_buckets,
            ),
            (
                "metrics.api_latency_buckets",
                &self.metrics.api_latency_buckets,
            ),
            (
                "metrics.market_data_delay_buckets",
                &self.metrics.market_data_delay_buckets,
            ),
        ] {
            // The histogram's own rules (non-empty, finite, strictly increasing), so the config
            // cannot accept what the catalogue would refuse.
            zigquant_metrics::Histogram::new(bounds)
                .map_err(|e| ConfigError::Invalid(format!("{field}: {e}")))?;
            if bounds.iter().any(|b| *b <= 0.0) {
                return Err(ConfigError::Invalid(format!(
                    "{field}: latency bounds must be positive"
                )));
            }
        }
        if self.api.body_limit_bytes == 0 {
            return Err(ConfigError::Invalid(
                "api.body_limit_bytes: must be positive".into(),
            ));
        }
        if self.api.max_page_size == 0 {
            return Err(ConfigError::Invalid(
                "api.max_page_size: must be positive".into(),
            ));
        }
        if let Some(i) = self.api.keys.iter().position(|k| k.len() < 16) {
            return Err(ConfigError::Invalid(format!(
                "api.keys[{i}]: a key must be at least 16 characters"
            )));
        }
        if matches!(&self.metrics.bearer_token, Some(t) if t.is_empty()) {
            return Err(ConfigError::Invalid(
                "metrics.bearer_token: must not be empty when set".into(),
            ));
        }
        self.limits.validate().map_err(ConfigError::Invalid)?;
        self.engine
            .validate()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        // Live pairs: the interval must be one the venues publish (the error lists them).
        crate::live::LivePlan::from_config(&self.engine)
            .map(|_| ())
            .map_err(|e| ConfigError::Invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_parses_and_validates() {
        let config = Config::embedded_default().expect("default parses");
        config.validate().expect("default validates");
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
        for story_bound in [0.01, 0.05, 0.1, 0.5, 1.0] {
            assert!(config.metrics.order_latency_buckets.contains(&story_bound));
            assert!(config.metrics.api_latency_buckets.contains(&story_bound));
            assert!(config
                .metrics
                .market_data_delay_buckets
                .contains(&story_bound));
        }
    }

    #[test]
    fn a_file_without_metrics_gets_the_documented_buckets() {
        // MetricsConfig::default applies when a file omits [metrics]; it must say what
        // default-config.toml documents.
        let documented = Config::embedded_default().unwrap().metrics;
        let fallback = MetricsConfig::default();
        assert_eq!(
            documented.order_latency_buckets,
            fallback.order_latency_buckets
        );
        assert_eq!(documented.api_latency_buckets, fallback.api_latency_buckets);
        assert_eq!(
            documented.market_data_delay_buckets,
            fallback.market_data_delay_buckets
        );
    }

    #[test]
    fn overrides_beat_the_file() {
        let dir = std::env::temp_dir().join(format!("zq-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(
            &file,
            "[server]\nlisten = \"127.0.0.1:9000\"\ndata_dir = \"/tmp/x\"\n",
        )
        .unwrap();
        let from_file = Config::load(Some(&file), Overrides::default()).unwrap();
        assert_eq!(from_file.server.listen.port(), 9000);
        let overridden = Config::load(
            Some(&file),
            Overrides {
                listen: Some("127.0.0.1:9100".parse().unwrap()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(overridden.server.listen.port(), 9100);
        assert_eq!(overridden.server.data_dir, PathBuf::from("/tmp/x"));
    }

    /// The shipped live example loads; a live pair needs a published interval and a symbol.
    #[test]
    fn the_live_example_loads_and_live_pairs_are_checked() {
        let example = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/examples/live.toml"
        );
        let config = Config::load(Some(Path::new(example)), Overrides::default()).unwrap();
        assert_eq!(config.engine.live_venues(), ["binance", "hyperliquid"]);
        let text = std::fs::read_to_string(example).unwrap();
        let bad = text.replace("bar_interval_secs = 60.0", "bar_interval_secs = 120.0");
        let err = Config::parse(&bad, "t")
            .and_then(|c| c.validate())
            .unwrap_err();
        assert!(
            err.to_string().contains(
                "bar_interval_secs = 120 is not a live candle interval; allowed: 60 (1m), 180 (3m)"
            ),
            "{err}"
        );
        let bad = text.replace("symbol = \"BTC\"\n", "");
        let err = Config::parse(&bad, "t")
            .and_then(|c| c.validate())
            .unwrap_err();
        assert!(err.to_string().contains("engine.pairs[0].symbol"), "{err}");
        // The same interval is fine when every pair is simulated.
        let synthetic = Config::parse("[engine.feed]\nbar_interval_secs = 120.0\n", "t").unwrap();
        synthetic.validate().unwrap();
    }

    #[test]
    fn the_name_comes_from_flag_env_file_or_host() {
        let from_file = Config::parse("[server]\nname = \"bot-a\"\n", "t").unwrap();
        assert_eq!(from_file.server.bot_name().as_str(), "bot-a");
        let err = Config::parse("[server]\nname = \"bot a\"\n", "t").unwrap_err();
        assert!(err.to_string().contains("name"), "{err}");
        assert!(err.to_string().contains("' '"), "{err}");
        let overridden = Config::load(
            None,
            Overrides {
                name: Some("bot-b".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(overridden.server.bot_name().as_str(), "bot-b");
        let err = Config::load(
            None,
            Overrides {
                name: Some("bad/name".into()),
                ..Overrides::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("ZQ_NAME"), "{err}");
        let host = Config::load(None, Overrides::default()).unwrap();
        assert_eq!(host.server.name, Some(BotName::from_host()));
        let empty = Config::load(
            None,
            Overrides {
                name: Some(String::new()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(empty.server.name, Some(BotName::from_host()));
    }

    #[test]
    fn the_document_hash_follows_the_text() {
        let a = Config::parse("[server]\n", "t").unwrap();
        let b = Config::parse("[server]\n# a comment\n", "t").unwrap();
        assert_eq!(a.document_hash, ConfigHash::of("[server]\n"));
        assert_ne!(a.document_hash, b.document_hash);
        let default = Config::embedded_default().unwrap();
        assert_eq!(default.document_hash, ConfigHash::of(&default_toml()));
    }

    #[test]
    fn errors_name_the_field() {
        let err = Config::parse("[metrics]\napi_latency_buckets = \"x\"\n", "t").unwrap_err();
        assert!(err.to_string().contains("api_latency_buckets"), "{err}");
        let err = Config::parse("[server]\nlisten = \"nope\"\n", "t").unwrap_err();
        assert!(err.to_string().contains("listen"), "{err}");
        let err = Config::parse("[serverr]\n", "t").unwrap_err();
        assert!(err.to_string().contains("serverr"), "{err}");
        let mut config = Config::embedded_default().unwrap();
        config.metrics.api_latency_buckets = vec![0.5, 0.1];
        let err = config.validate().unwrap_err();
        assert!(
            err.to_string().contains("metrics.api_latency_buckets"),
            "{err}"
        );
    }
}
