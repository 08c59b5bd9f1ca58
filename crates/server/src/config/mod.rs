//! The zigquant configuration: one TOML document, embedded defaults, and the precedence
//! flags > environment > file > defaults. A file is laid over the defaults by the rule of
//! [`merge`] (named entries merge by name), and `zigquant config --effective` prints the result
//! ([`effective`]).

mod effective;
pub mod merge;
mod sections;

pub use sections::{resolve_listen, ApiConfig, MetricsConfig, ServerConfig};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
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
mod tests;
