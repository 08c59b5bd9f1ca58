//! The `[engine]` table of the zigquant TOML file: pairs, feeds, exchanges, strategies, the noise
//! order source, risk thresholds and journal settings. `default-engine.toml` (embedded) is the
//! documented default; [`EngineConfig::validate`] names the offending field of a bad config.
//!
//! Time units: latencies are milliseconds of *market* time; every other duration (outages, time
//! in force, `at_secs`) is in seconds of *wall* time at the configured clock speed, i.e. market
//! seconds divided by `feed.clock_speed`. With pacing on, these are real seconds; with pacing off
//! they stay a deterministic function of the simulated clock.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

mod validate;

pub use validate::{check_fee_rate, check_positive, MAX_FEE_RATE};

pub use crate::strategy::noise::NoiseConfig;
pub use crate::strategy::reconcile::ExecutionStyle;
use crate::strategy::StrategyParams;

/// The embedded default configuration, commented for users (`zigquant config --default`).
pub const DEFAULT_ENGINE_TOML: &str = include_str!("../../default-engine.toml");

/// Name under which API orders without a strategy are booked.
pub const MANUAL_STRATEGY: &str = "manual";

/// An invalid configuration: `field` is the path of the offending value.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// Path of the offending field, e.g. `engine.strategies[1].slow`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        message: message.into(),
    }
}

/// The whole engine configuration (the `[engine]` table). Missing keys and tables take the
/// embedded defaults (tables merge key by key; arrays such as `pairs` replace the default
/// array whole); unknown keys are an error. A user's `--config` file does not come here raw:
/// the server first lays it over the defaults by the documented rule (named entries of
/// `pairs`, `exchanges` and `strategies` merge by name; crates/server/src/config/merge.rs), so
/// what reaches this type is complete and this step changes nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "toml::Table")]
pub struct EngineConfig {
    /// Seed of every random draw (prices, latencies, faults, noise orders).
    pub seed: u64,
    /// Starting cash of each strategy's account, quote currency.
    pub initial_cash: f64,
    /// Sampling periods per year for Sharpe/CAGR/Calmar (docs/statistics.md §0): one period per bar.
    pub periods_per_year: f64,
    /// The market clock.
    pub feed: FeedConfig,
    /// Traded pairs and their market data source.
    pub pairs: Vec<PairConfig>,
    /// Paper exchanges.
    pub exchanges: Vec<ExchangeConfig>,
    /// Strategy instances.
    pub strategies: Vec<StrategyConfig>,
    /// Built-in random order source that exercises limits, cancels and rejects.
    pub noise: NoiseConfig,
    /// Risk monitor thresholds and pre-trade limits.
    pub risk: RiskConfig,
    /// Journal settings.
    pub journal: JournalConfig,
    /// Endpoints of the live market-data venues (used by pairs with a live `source`).
    pub live: LiveConfig,
}

/// The fields exactly as written, every one required: what remains after merging over the
/// embedded defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEngineConfig {
    seed: u64,
    initial_cash: f64,
    periods_per_year: f64,
    feed: FeedConfig,
    pairs: Vec<PairConfig>,
    exchanges: Vec<ExchangeConfig>,
    strategies: Vec<StrategyConfig>,
    noise: NoiseConfig,
    risk: RiskConfig,
    journal: JournalConfig,
    live: LiveConfig,
}

impl From<RawEngineConfig> for EngineConfig {
    fn from(r: RawEngineConfig) -> Self {
        Self {
            seed: r.seed,
            initial_cash: r.initial_cash,
            periods_per_year: r.periods_per_year,
            feed: r.feed,
            pairs: r.pairs,
            exchanges: r.exchanges,
            strategies: r.strategies,
            noise: r.noise,
            risk: r.risk,
            journal: r.journal,
            live: r.live,
        }
    }
}

impl EngineConfig {
    /// Whether every pair's prices are pushed (no pulled source): such a run has no bar tick of
    /// its own, so each sampled bar period counts as one (docs/live.md, "Bounded state").
    pub fn all_pairs_live(&self) -> bool {
        self.pairs.iter().all(|p| p.source.live_venue().is_some())
    }

    /// Venue names that some pair takes live prices from (`hyperliquid`, `binance`).
    pub fn live_venues(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self
            .pairs
            .iter()
            .filter_map(|p| p.source.live_venue())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// The `[engine]` table of the embedded default file.
fn default_table() -> Result<toml::Table, String> {
    let mut file: toml::Table = toml::from_str(DEFAULT_ENGINE_TOML).map_err(|e| e.to_string())?;
    match file.remove("engine") {
        Some(toml::Value::Table(t)) => Ok(t),
        _ => Err("default-engine.toml has no [engine] table".into()),
    }
}

/// Overlays `over` onto `base`: tables merge recursively, anything else replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

impl TryFrom<toml::Table> for EngineConfig {
    type Error = String;

    fn try_from(user: toml::Table) -> Result<Self, String> {
        let defaults = default_table()?;
        let mut t = defaults.clone();
        merge(&mut t, user);
        RawEngineConfig::deserialize(toml::Value::Table(t.clone()))
            .map(Into::into)
            .map_err(|e| locate_error(&defaults, &t).unwrap_or(format!("engine: {}", e.message())))
    }
}

fn type_name(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) | toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a datetime",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// Finds the field behind a deserialization error, so the message names its path: fixed
/// tables are compared key by key with the defaults; array elements are decoded one by one.
fn locate_error(defaults: &toml::Table, merged: &toml::Table) -> Option<String> {
    fn element<T: serde::de::DeserializeOwned>(path: &str, v: &toml::Value) -> Option<String> {
        let toml::Value::Array(items) = v else {
            return Some(format!("{path}: expected an array, found {}", type_name(v)));
        };
        items.iter().enumerate().find_map(|(i, item)| {
            T::deserialize(item.clone())
                .err()
                .map(|e| format!("{path}[{i}]: {}", e.message()))
        })
    }
    fn table(path: &str, defaults: &toml::Table, merged: &toml::Table) -> Option<String> {
        merged.iter().find_map(|(k, v)| {
            let p = format!("{path}.{k}");
            match (defaults.get(k), v) {
                (None, _) => Some(format!("{p}: unknown field")),
                (Some(toml::Value::Table(d)), toml::Value::Table(m)) => table(&p, d, m),
                (Some(d), v) if type_name(d) != type_name(v) => Some(format!(
                    "{p}: expected {}, found {}",
                    type_name(d),
                    type_name(v)
                )),
                _ => None,
            }
        })
    }
    for (k, v) in merged {
        let path = format!("engine.{k}");
        let found = match k.as_str() {
            "pairs" => element::<PairConfig>(&path, v),
            "exchanges" => element::<ExchangeConfig>(&path, v),
            "strategies" => element::<StrategyConfig>(&path, v),
            _ => match (defaults.get(k), v) {
                (None, _) => Some(format!("{path}: unknown field")),
                (Some(toml::Value::Table(d)), toml::Value::Table(m)) => table(&path, d, m),
                (Some(d), v) if type_name(d) != type_name(v) => Some(format!(
                    "{path}: expected {}, found {}",
                    type_name(d),
                    type_name(v)
                )),
                _ => None,
            },
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

impl Default for EngineConfig {
    fn default() -> Self {
        // The embedded file is a compile-time constant; `default_config_parses_and_validates`
        // proves it parses, so this cannot fail at run time.
        match default_table().and_then(|t| {
            RawEngineConfig::deserialize(toml::Value::Table(t)).map_err(|e| e.to_string())
        }) {
            Ok(r) => r.into(),
            Err(e) => panic!("embedded default-engine.toml is invalid: {e}"),
        }
    }
}

/// The market clock: bar interval and how fast market time runs against wall time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Market seconds per bar.
    pub bar_interval_secs: f64,
    /// Market seconds per wall second (240 with 60 s bars = one bar every 250 ms).
    pub clock_speed: f64,
    /// Pace the simulation to wall time; `false` runs as fast as the CPU allows (tests).
    pub pacing: bool,
    /// Stop the feeds after this many bars per process run (0 = never).
    pub max_bars: u64,
    /// Market time of the first bar, Unix ms (fixed for determinism).
    pub start_time_ms: i64,
    /// Bars replayed from the journal into strategies after a restart to warm up indicators;
    /// the journal keeps about this many recent bars per pair.
    pub warmup_bars: usize,
}

impl Default for FeedConfig {
    fn default() -> Self {
        EngineConfig::default().feed
    }
}

/// Where a pair's bars come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedSource {
    /// Seeded geometric Brownian motion.
    Synthetic,
    /// Replay of an OHLCV CSV file (the backtest format), one row per bar.
    Csv,
    /// Hyperliquid's public candles, pushed into the market inbox by the service (docs/live.md).
    Hyperliquid,
    /// Binance spot's public klines, pushed into the market inbox by the service (docs/live.md).
    Binance,
}

impl FeedSource {
    /// The venue name of a live source (`hyperliquid`, `binance`): the exchange of that name is
    /// the one whose link state is the real market-data connection. `None` for pulled sources.
    pub fn live_venue(self) -> Option<&'static str> {
        match self {
            FeedSource::Hyperliquid => Some("hyperliquid"),
            FeedSource::Binance => Some("binance"),
            FeedSource::Synthetic | FeedSource::Csv => None,
        }
    }
}

/// `[engine.live]`: where each live venue is reached (docs/live.md). Plain data: the engine
/// never opens a socket; the service runs the feeds and pushes what they see.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveConfig {
    /// `[engine.live.hyperliquid]`.
    pub hyperliquid: LiveEndpoints,
    /// `[engine.live.binance]`.
    pub binance: LiveEndpoints,
}

/// One live venue's endpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveEndpoints {
    /// WebSocket URL (`wss://...`).
    pub ws_url: String,
    /// REST base URL for candle history (`https://...`).
    pub rest_url: String,
    /// Extra CA certificates (PEM) to trust, for a private CA or a TLS proxy.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// Heartbeat period, seconds: a silent stall is detected within two periods.
    #[serde(default = "default_heartbeat_secs")]
    pub heartbeat_secs: f64,
}

fn default_heartbeat_secs() -> f64 {
    20.0
}

/// One traded pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairConfig {
    /// Pair name, used as a metric label (letters, digits, `-`, `_`).
    pub name: String,
    /// Market data source.
    #[serde(default = "default_source")]
    pub source: FeedSource,
    /// CSV file for `source = "csv"`.
    #[serde(default)]
    pub csv_path: Option<PathBuf>,
    /// The venue's own symbol for a live source: Hyperliquid coin (`BTC`), Binance symbol
    /// (`BTCUSDT`).
    #[serde(default)]
    pub symbol: Option<String>,
    /// First price of the synthetic feed.
    #[serde(default = "default_start_price")]
    pub start_price: f64,
    /// Annualised drift of the synthetic feed (0.05 = 5 %/year).
    #[serde(default)]
    pub drift: f64,
    /// Annualised volatility of the synthetic feed (0.8 = 80 %/year).
    #[serde(default = "default_volatility")]
    pub volatility: f64,
    /// Smallest order quantity the exchanges accept (smaller orders are rejected).
    #[serde(default = "default_min_qty")]
    pub min_qty: f64,
}

fn default_source() -> FeedSource {
    FeedSource::Synthetic
}
fn default_start_price() -> f64 {
    100.0
}
fn default_volatility() -> f64 {
    0.5
}
fn default_min_qty() -> f64 {
    0.0001
}
fn default_true() -> bool {
    true
}

/// One scheduled outage of an exchange link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageConfig {
    /// Wall seconds after engine start at which the link drops.
    pub at_secs: f64,
    /// How long it stays down, wall seconds.
    pub for_secs: f64,
}

/// One paper exchange.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeConfig {
    /// Venue name, used as a metric label.
    pub name: String,
    /// Fee rate on notional for every fill (0.0005 = 5 bp).
    #[serde(default)]
    pub fee_rate: f64,
    /// Median submit -> ack/fill latency, market milliseconds (lognormal).
    #[serde(default = "default_latency_median")]
    pub latency_median_ms: f64,
    /// 99th percentile of that latency, market milliseconds.
    #[serde(default = "default_latency_p99")]
    pub latency_p99_ms: f64,
    /// Random disconnects per wall hour (0 = none).
    #[serde(default)]
    pub disconnect_rate_per_hour: f64,
    /// Mean duration of a random outage, wall seconds (uniform in 0.5x..1.5x).
    #[serde(default = "default_outage_secs")]
    pub disconnect_mean_secs: f64,
    /// Scheduled outages (force one for tests: `disconnect = [{ at_secs = 1, for_secs = 30 }]`).
    #[serde(default)]
    pub disconnect: Vec<OutageConfig>,
}

fn default_latency_median() -> f64 {
    20.0
}
fn default_latency_p99() -> f64 {
    200.0
}
fn default_outage_secs() -> f64 {
    3.0
}

/// One strategy instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    /// Instance name, used as a metric label; unique; not `manual`.
    pub name: String,
    /// Pair it trades.
    pub pair: String,
    /// Exchange it trades on (default: the first exchange).
    #[serde(default)]
    pub exchange: Option<String>,
    /// Run at start. `false` always starts it stopped; with `true` the last start/stop made
    /// through the API (journaled) wins, so a stop survives restarts.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Order type used to reach the target position.
    #[serde(default = "default_execution")]
    pub execution: ExecutionStyle,
    /// Time in force of limit orders, wall seconds.
    #[serde(default = "default_tif")]
    pub time_in_force_secs: f64,
    /// Limit orders are placed this many basis points behind the bar close (buys below, sells
    /// above), so they rest until the market comes to them.
    #[serde(default)]
    pub limit_offset_bps: f64,
    /// The decision logic and its parameters (`kind = "sma_cross"` / `"mean_reversion"`).
    pub params: StrategyParams,
}

fn default_execution() -> ExecutionStyle {
    ExecutionStyle::Market
}
fn default_tif() -> f64 {
    2.0
}

impl Default for NoiseConfig {
    fn default() -> Self {
        EngineConfig::default().noise
    }
}

/// Risk thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskConfig {
    /// Portfolio max drawdown (fraction) that raises a warning.
    pub drawdown_warning: f64,
    /// Portfolio max drawdown (fraction) that raises a critical alert.
    pub drawdown_critical: f64,
    /// |position| notional per pair (quote) that raises a warning.
    pub position_warning_notional: f64,
    /// Pre-trade limit: an order that would take |position| notional of a pair past this is
    /// rejected with `risk_limit`.
    pub max_position_notional: f64,
    /// Share of rejects among the last `reject_window` terminal orders that raises a warning.
    pub reject_rate_warning: f64,
    /// Share that raises a critical alert.
    pub reject_rate_critical: f64,
    /// Number of recent terminal orders the reject rate is computed over.
    pub reject_window: usize,
    /// An exchange down this long (wall seconds) raises a critical alert (warning at once).
    pub disconnect_critical_secs: f64,
    /// VaR/CVaR cover the last this many portfolio returns (one per bar), docs/statistics.md §8.
    pub var_window: usize,
}

impl Default for RiskConfig {
    fn default() -> Self {
        EngineConfig::default().risk
    }
}

/// SQLite `synchronous` mode of the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Survives process crashes (`kill -9`); the last commits may be lost on power loss.
    Normal,
    /// Every commit is fsynced: survives power loss too.
    Full,
}

/// Journal settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalConfig {
    /// SQLite `synchronous` pragma.
    pub synchronous: SyncMode,
    /// Equity samples older than this many days of market time are thinned to each hour's
    /// lowest and highest sample (0 = keep all).
    pub equity_retention_days: f64,
}

impl Default for JournalConfig {
    fn default() -> Self {
        EngineConfig::default().journal
    }
}

impl EngineConfig {
    /// Parses a whole zigquant TOML file's `[engine]` table (other tables are ignored).
    pub fn from_toml_file_str(text: &str) -> Result<Self, ConfigError> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            engine: Option<EngineConfig>,
        }
        let f: File = toml::from_str(text).map_err(|e| err("engine", e.to_string()))?;
        Ok(f.engine.unwrap_or_default())
    }

    /// Every strategy label value the engine can emit: configured strategies, the noise source
    /// (when enabled) and `manual`. The metrics layer pre-registers exactly these.
    pub fn strategy_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.strategies.iter().map(|s| s.name.clone()).collect();
        if self.noise.enabled {
            v.push(self.noise.name.clone());
        }
        v.push(MANUAL_STRATEGY.to_string());
        v
    }

    /// Every pair label value.
    pub fn pair_names(&self) -> Vec<String> {
        self.pairs.iter().map(|p| p.name.clone()).collect()
    }

    /// Every exchange label value.
    pub fn exchange_names(&self) -> Vec<String> {
        self.exchanges.iter().map(|x| x.name.clone()).collect()
    }

    /// Market milliseconds per wall second (the clock speed in ms).
    pub(crate) fn market_ms_per_wall_sec(&self) -> f64 {
        self.feed.clock_speed * 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_parses_and_validates() {
        let c = EngineConfig::default();
        c.validate().unwrap();
        assert_eq!(c.pair_names(), vec!["BTC-USDT", "ETH-USDT"]);
        assert!(c.exchange_names().contains(&"hyperliquid".to_string()));
        assert!(c.strategy_names().contains(&"manual".to_string()));
    }

    #[test]
    fn a_config_round_trips_through_toml() {
        let c = EngineConfig::default();
        let text = toml::to_string(&c).unwrap();
        let back: EngineConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn partial_file_takes_defaults() {
        let c = EngineConfig::from_toml_file_str("[engine.feed]\npacing = false\n").unwrap();
        assert!(!c.feed.pacing);
        assert_eq!(c.pairs, EngineConfig::default().pairs);
    }
}
