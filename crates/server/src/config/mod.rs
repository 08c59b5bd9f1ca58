//! The zigquant configuration: one TOML document, embedded defaults, and the precedence
//! flags > environment > file > defaults. A file is laid over the defaults by the rule of
//! [`merge`] (named entries merge by name), and `zigquant config --effective` prints the result
//! ([`effective`]).

mod effective;
pub mod merge;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};
use zigquant_engine::config::EngineConfig;

use merge::Provenance;

use crate::identity::{BotName, ConfigHash};
use crate::limits::LimitsConfig;

/// The server's own part of the default configuration file, with comments for users.
const DEFAULT_SERVER_TOML: &str = include_str!("../../default-config.toml");
/// The engine's part of the default configuration file (owned by the engine crate).
use zigquant_engine::config::DEFAULT_ENGINE_TOML;

/// Why a configuration could not be used; each message names the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be laid over the defaults (a named entry without a name, a bad
    /// `replace_defaults`, ...).
    #[error("invalid config {origin}: {message}")]
    Merge {
        /// The file.
        origin: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A value of the merged configuration (the file over the defaults) is not usable; `note`
    /// says where the entry at fault came from when the file did not write it.
    #[error("invalid config {origin} (laid over the embedded defaults): {field}: {message}{}", note.as_deref().map(|n| format!("\n  note: {n}")).unwrap_or_default())]
    InFile {
        /// The file.
        origin: String,
        /// Path of the offending value, e.g. `engine.strategies[0].exchange`.
        field: String,
        /// What is wrong with it.
        message: String,
        /// Where that entry came from, when it matters.
        note: Option<String>,
    },
    /// An environment variable holds an unusable value.
    #[error("invalid environment variable {name}: {message}")]
    Env {
        /// The variable, e.g. `ZQ_API_KEY`.
        name: &'static str,
        /// What is wrong with its value.
        message: String,
    },
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
    #[error("invalid config: {field}: {message}")]
    Invalid {
        /// Path of the offending value, e.g. `api.keys[0]`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// The whole configuration document.
#[derive(Clone, Debug, Serialize, Deserialize)]
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

/// Smallest accepted API key length.
const MIN_KEY_LEN: usize = 16;

/// The default configuration document, as `zigquant config --default` prints it.
pub fn default_toml() -> String {
    format!("{DEFAULT_SERVER_TOML}{DEFAULT_ENGINE_TOML}")
}

/// The embedded default document as a table.
fn default_table() -> Result<toml::Table, ConfigError> {
    toml::from_str(&default_toml()).map_err(|e| ConfigError::Parse {
        origin: "(embedded default)".into(),
        message: e.to_string(),
    })
}

impl Config {
    /// Parses a TOML document laid over the embedded defaults (see [`merge`]): keys it leaves
    /// out keep their defaults, named entries merge by name. Does not validate.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        Self::parse_with_provenance(text, origin).map(|(config, _)| config)
    }

    fn parse_with_provenance(text: &str, origin: &str) -> Result<(Self, Provenance), ConfigError> {
        let file: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        let (merged, provenance) =
            merge::merge(&default_table()?, file).map_err(|e| ConfigError::Merge {
                origin: origin.to_string(),
                message: e.0,
            })?;
        let config =
            Self::deserialize(toml::Value::Table(merged)).map_err(|e| ConfigError::Parse {
                origin: format!("{origin} (laid over the embedded defaults)"),
                message: e.to_string(),
            })?;
        let config = Self {
            document_hash: ConfigHash::of(text),
            ..config
        };
        Ok((config, provenance))
    }

    /// The embedded defaults.
    pub fn embedded_default() -> Result<Self, ConfigError> {
        let config = Self::parse("", "(embedded default)")?;
        Ok(Self {
            document_hash: ConfigHash::of(&default_toml()),
            ..config
        })
    }

    /// Loads the file (or the embedded defaults), applies overrides, and validates the result.
    /// A validation error names the file, and where the entry at fault came from.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Self, ConfigError> {
        let (mut config, provenance, origin) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                let origin = path.display().to_string();
                let (config, provenance) = Self::parse_with_provenance(&text, &origin)?;
                (config, provenance, Some(origin))
            }
            None => (Self::embedded_default()?, Provenance::default(), None),
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
            if key.len() < MIN_KEY_LEN {
                return Err(ConfigError::Env {
                    name: "ZQ_API_KEY",
                    message: format!(
                        "a key must be at least {MIN_KEY_LEN} characters (it has {})",
                        key.len()
                    ),
                });
            }
            config.api.keys.push(key);
        }
        // An empty ZQ_NAME (`ZQ_NAME=${ZQ_NAME:-}` in a compose file) means unset, as for ZQ_API_KEY.
        if let Some(name) = overrides.name.filter(|n| !n.is_empty()) {
            let name =
                BotName::new(name).map_err(|e| invalid("ZQ_NAME / --name", e.to_string()))?;
            config.server.name = Some(name);
        }
        if config.server.name.is_none() {
            config.server.name = Some(BotName::from_host());
        }
        match (config.validate(), origin) {
            (Err(ConfigError::Invalid { field, message }), Some(origin)) => {
                let note = provenance.explain(&field, &origin);
                Err(ConfigError::InFile {
                    origin,
                    field,
                    message,
                    note,
                })
            }
            (result, _) => result.map(|()| config),
        }
    }

    /// The effective configuration as commented TOML: the embedded default document's comments
    /// and layout, with this configuration's values; secrets are redacted.
    pub fn effective_toml(&self, sources: &str) -> Result<String, ConfigError> {
        effective::render(self, sources)
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
            invalid(
                "metrics.native_histogram_bucket_factor / native_histogram_max_buckets",
                e.to_string(),
            )
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
            zigquant_metrics::Histogram::new(bounds).map_err(|e| invalid(field, e.to_string()))?;
            if bounds.iter().any(|b| *b <= 0.0) {
                return Err(invalid(field, "latency bounds must be positive"));
            }
        }
        if self.api.body_limit_bytes == 0 {
            return Err(invalid("api.body_limit_bytes", "must be positive"));
        }
        if self.api.max_page_size == 0 {
            return Err(invalid("api.max_page_size", "must be positive"));
        }
        if let Some(i) = self.api.keys.iter().position(|k| k.len() < MIN_KEY_LEN) {
            return Err(invalid(
                format!("api.keys[{i}]"),
                format!("a key must be at least {MIN_KEY_LEN} characters"),
            ));
        }
        if matches!(&self.metrics.bearer_token, Some(t) if t.is_empty()) {
            return Err(invalid(
                "metrics.bearer_token",
                "must not be empty when set",
            ));
        }
        self.limits
            .validate()
            .map_err(|e| match e.split_once(": ") {
                Some((field, message)) => invalid(field, message),
                None => invalid("limits", e),
            })?;
        self.engine
            .validate()
            .map_err(|e| invalid(e.field, e.message))?;
        // Live pairs: the interval must be one the venues publish (the error lists them).
        crate::live::LivePlan::from_config(&self.engine)
            .map(|_| ())
            .map_err(|e| match e {
                crate::live::LiveSetupError::Interval(e) => invalid("engine.feed", e.to_string()),
                crate::live::LiveSetupError::Feed(e) => invalid("engine.live", e.to_string()),
            })
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
        // Its replace_defaults keeps the default entries (the simulated sma_cross_eth) out.
        let strategies: Vec<&str> = config
            .engine
            .strategies
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(strategies, ["sma_cross", "mean_reversion"]);
        assert_eq!(config.engine.exchange_names(), ["hyperliquid", "binance"]);
        assert_eq!(config.engine.pairs.len(), 2);
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

    fn write(name: &str, body: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("zq-config-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, body).unwrap();
        file
    }

    #[test]
    fn a_file_changing_one_exchange_keeps_the_others() {
        // The README user's file: before the merge-by-name rule, it replaced the whole list and
        // the default strategies lost their exchange.
        let file = write(
            "one-exchange",
            "[[engine.exchanges]]\nname = \"binance\"\nfee_rate = 0.002\n",
        );
        let config = Config::load(Some(&file), Overrides::default()).unwrap();
        assert_eq!(config.engine.exchange_names(), ["hyperliquid", "binance"]);
        let binance = &config.engine.exchanges[1];
        assert_eq!(binance.fee_rate, 0.002);
        let default = Config::embedded_default().unwrap();
        assert_eq!(
            binance.latency_median_ms,
            default.engine.exchanges[1].latency_median_ms
        );
        assert_eq!(config.engine.strategies, default.engine.strategies);
    }

    #[test]
    fn a_conflict_names_the_file_and_the_default_entry() {
        let file = write(
            "replace",
            "replace_defaults = [\"engine.exchanges\"]\n[[engine.exchanges]]\nname = \"binance\"\n",
        );
        let err = Config::load(Some(&file), Overrides::default())
            .unwrap_err()
            .to_string();
        for needle in [
            file.to_str().unwrap(),
            "engine.strategies[0].exchange",
            "unknown exchange \"hyperliquid\"",
            "strategy \"sma_cross\" of the embedded defaults",
            "remove = true",
        ] {
            assert!(err.contains(needle), "{needle:?} missing from: {err}");
        }
    }

    #[test]
    fn a_short_env_key_names_the_variable() {
        let err = Config::load(
            None,
            Overrides {
                api_key: Some("short".into()),
                ..Overrides::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("ZQ_API_KEY"), "{err}");
        assert!(!err.contains("api.keys"), "{err}");
    }

    #[test]
    fn listen_resolves_host_names() {
        assert_eq!(
            resolve_listen("localhost:8080").unwrap(),
            SocketAddr::from(([127, 0, 0, 1], 8080))
        );
        assert_eq!(resolve_listen("[::1]:9").unwrap().port(), 9);
        assert!(resolve_listen("localhost").unwrap_err().contains("no port"));
        let config = Config::parse("[server]\nlisten = \"localhost:9001\"\n", "t").unwrap();
        assert_eq!(
            config.server.listen,
            SocketAddr::from(([127, 0, 0, 1], 9001))
        );
    }

    #[test]
    fn the_effective_config_reads_back_as_itself_with_secrets_redacted() {
        let file = write(
            "effective",
            "[metrics]\nbearer_token = \"scrape-secret-0123\"\n[[engine.strategies]]\nname = \"sma_cross_eth\"\nremove = true\n[[engine.pairs]]\nname = \"SOL-USDT\"\n",
        );
        let config = Config::load(
            Some(&file),
            Overrides {
                api_key: Some("env-key-0123456789abcdef".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        let text = config.effective_toml("test").unwrap();
        assert!(!text.contains("env-key-0123456789abcdef"), "{text}");
        assert!(!text.contains("scrape-secret-0123"), "{text}");
        assert!(text.contains("keys = [\"<redacted>\"]"), "{text}");
        assert!(
            text.contains("# Seed of every random draw"),
            "comments kept:\n{text}"
        );
        assert!(
            !text.lines().any(|l| l == "name = \"sma_cross_eth\""),
            "{text}"
        );
        let mut back = Config::parse(&text, "effective").unwrap();
        back.api.keys = config.api.keys.clone();
        back.metrics.bearer_token = config.metrics.bearer_token.clone();
        back.document_hash = config.document_hash.clone();
        assert_eq!(format!("{back:?}"), format!("{config:?}"));
    }

    #[test]
    fn an_empty_strategy_list_survives_the_effective_print() {
        let config = Config::parse("[engine]\nstrategies = []\n", "t").unwrap();
        assert!(config.engine.strategies.is_empty());
        let back = Config::parse(&config.effective_toml("t").unwrap(), "e").unwrap();
        assert!(back.engine.strategies.is_empty());
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
    fn the_quiet_example_turns_the_injected_faults_off() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/examples/quiet.toml");
        let config = Config::load(Some(&path), Overrides::default()).unwrap();
        assert!(!config.engine.noise.enabled);
        for exchange in &config.engine.exchanges {
            assert_eq!(exchange.disconnect_rate_per_hour, 0.0, "{}", exchange.name);
            assert!(exchange.disconnect.is_empty(), "{}", exchange.name);
        }
        let default = Config::embedded_default().unwrap();
        assert_eq!(config.engine.strategies, default.engine.strategies);
        assert_eq!(
            config.engine.exchange_names(),
            default.engine.exchange_names()
        );
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
