//! [`EngineConfig::validate`]: every check of the engine configuration, naming the offending
//! field's path. Strategy parameters are checked by the strategy registry, not here.

use std::collections::HashSet;

use super::{err, ConfigError, EngineConfig, FeedSource, MANUAL_STRATEGY};
use crate::strategy::registry;

fn check_name(field: &str, name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(err(
            field,
            "must be 1-64 characters of letters, digits, '-', '_' or '.'",
        ))
    }
}

fn positive(field: &str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(err(field, "must be a finite number > 0"))
    }
}

fn non_negative(field: &str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(err(field, "must be a finite number >= 0"))
    }
}

fn fraction(field: &str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(err(field, "must be between 0 and 1"))
    }
}

/// Largest accepted fee rate (exclusive): 10 % of notional per fill. A bigger value is a unit
/// mistake (1.5 meant as 1.5 % is 0.015), in the config file and on the backtest command line.
pub const MAX_FEE_RATE: f64 = 0.1;

/// The fee-rate rule the live configuration (`engine.exchanges[].fee_rate`) and the backtest
/// (`--fee-rate`) share: a fraction of notional in `[0, MAX_FEE_RATE)`.
pub fn check_fee_rate(fee_rate: f64) -> Result<(), String> {
    if fee_rate.is_finite() && (0.0..MAX_FEE_RATE).contains(&fee_rate) {
        Ok(())
    } else {
        Err(format!(
            "must be a fraction of notional in [0, {MAX_FEE_RATE}) (0.001 = 0.1 %), got {fee_rate}"
        ))
    }
}

/// The rule for starting cash and periods per year, shared with the backtest: a finite number
/// greater than 0.
pub fn check_positive(value: f64) -> Result<(), String> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(format!("must be a finite number > 0, got {value}"))
    }
}

impl EngineConfig {
    /// Checks every value; the error names the field path, e.g.
    /// `engine.strategies[1].params.slow: must be greater than fast`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_positive(self.initial_cash).map_err(|m| err("engine.initial_cash", m))?;
        check_positive(self.periods_per_year).map_err(|m| err("engine.periods_per_year", m))?;
        positive("engine.feed.bar_interval_secs", self.feed.bar_interval_secs)?;
        if self.feed.bar_interval_secs < 0.001 {
            return Err(err("engine.feed.bar_interval_secs", "must be >= 0.001"));
        }
        positive("engine.feed.clock_speed", self.feed.clock_speed)?;
        if self.pairs.is_empty() {
            return Err(err("engine.pairs", "at least one pair is required"));
        }
        let mut seen = HashSet::new();
        for (i, p) in self.pairs.iter().enumerate() {
            let f = format!("engine.pairs[{i}]");
            check_name(&format!("{f}.name"), &p.name)?;
            if !seen.insert(p.name.as_str()) {
                return Err(err(format!("{f}.name"), "duplicate pair name"));
            }
            positive(&format!("{f}.min_qty"), p.min_qty)?;
            match p.source {
                FeedSource::Synthetic => {
                    positive(&format!("{f}.start_price"), p.start_price)?;
                    non_negative(&format!("{f}.volatility"), p.volatility)?;
                    if !p.drift.is_finite() {
                        return Err(err(format!("{f}.drift"), "must be finite"));
                    }
                }
                FeedSource::Csv => {
                    if p.csv_path.is_none() {
                        return Err(err(
                            format!("{f}.csv_path"),
                            "required when source = \"csv\"",
                        ));
                    }
                }
                FeedSource::Hyperliquid | FeedSource::Binance => {
                    let symbol = p.symbol.as_deref().unwrap_or_default();
                    let ok = !symbol.is_empty()
                        && symbol.len() <= 32
                        && symbol
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '@' || c == '-' || c == '_');
                    if !ok {
                        return Err(err(
                            format!("{f}.symbol"),
                            "required for a live source: the venue's symbol, e.g. \"BTC\" (hyperliquid) or \"BTCUSDT\" (binance)",
                        ));
                    }
                }
            }
            if p.symbol.is_some() && p.source.live_venue().is_none() {
                return Err(err(
                    format!("{f}.symbol"),
                    "only for source = \"hyperliquid\" or \"binance\"",
                ));
            }
        }
        for (name, ep) in [
            ("hyperliquid", &self.live.hyperliquid),
            ("binance", &self.live.binance),
        ] {
            let f = format!("engine.live.{name}");
            if ep.ws_url.is_empty() {
                return Err(err(format!("{f}.ws_url"), "must not be empty"));
            }
            if ep.rest_url.is_empty() {
                return Err(err(format!("{f}.rest_url"), "must not be empty"));
            }
            positive(&format!("{f}.heartbeat_secs"), ep.heartbeat_secs)?;
        }
        if self.exchanges.is_empty() {
            return Err(err("engine.exchanges", "at least one exchange is required"));
        }
        let mut seen = HashSet::new();
        for (i, x) in self.exchanges.iter().enumerate() {
            let f = format!("engine.exchanges[{i}]");
            check_name(&format!("{f}.name"), &x.name)?;
            if !seen.insert(x.name.as_str()) {
                return Err(err(format!("{f}.name"), "duplicate exchange name"));
            }
            check_fee_rate(x.fee_rate).map_err(|m| err(format!("{f}.fee_rate"), m))?;
            positive(&format!("{f}.latency_median_ms"), x.latency_median_ms)?;
            positive(&format!("{f}.latency_p99_ms"), x.latency_p99_ms)?;
            if x.latency_p99_ms < x.latency_median_ms {
                return Err(err(
                    format!("{f}.latency_p99_ms"),
                    "must be >= latency_median_ms",
                ));
            }
            non_negative(
                &format!("{f}.disconnect_rate_per_hour"),
                x.disconnect_rate_per_hour,
            )?;
            positive(&format!("{f}.disconnect_mean_secs"), x.disconnect_mean_secs)?;
            for (j, o) in x.disconnect.iter().enumerate() {
                non_negative(&format!("{f}.disconnect[{j}].at_secs"), o.at_secs)?;
                positive(&format!("{f}.disconnect[{j}].for_secs"), o.for_secs)?;
            }
        }
        let mut names = HashSet::new();
        names.insert(MANUAL_STRATEGY.to_string());
        for (i, s) in self.strategies.iter().enumerate() {
            let f = format!("engine.strategies[{i}]");
            check_name(&format!("{f}.name"), &s.name)?;
            if !names.insert(s.name.clone()) {
                return Err(err(
                    format!("{f}.name"),
                    "duplicate strategy name (\"manual\" is reserved)",
                ));
            }
            if !self.pairs.iter().any(|p| p.name == s.pair) {
                return Err(err(
                    format!("{f}.pair"),
                    format!("unknown pair {:?}", s.pair),
                ));
            }
            if let Some(x) = &s.exchange {
                if !self.exchanges.iter().any(|e| &e.name == x) {
                    return Err(err(
                        format!("{f}.exchange"),
                        format!("unknown exchange {x:?}"),
                    ));
                }
            }
            positive(&format!("{f}.time_in_force_secs"), s.time_in_force_secs)?;
            if !(s.limit_offset_bps.is_finite() && (0.0..1000.0).contains(&s.limit_offset_bps)) {
                return Err(err(format!("{f}.limit_offset_bps"), "must be in [0, 1000)"));
            }
            if let Err(e) = registry::validate(&s.params) {
                return Err(err(format!("{f}.params.{}", e.field), e.problem));
            }
        }
        let longest = self
            .strategies
            .iter()
            .map(|s| registry::warmup_bars(&s.params))
            .max()
            .unwrap_or(0);
        if self.feed.warmup_bars < longest {
            return Err(err(
                "engine.feed.warmup_bars",
                format!(
                    "must be at least the longest strategy window ({longest}), or a restart \
                     would change strategy decisions"
                ),
            ));
        }
        if self.noise.enabled {
            let n = &self.noise;
            check_name("engine.noise.name", &n.name)?;
            if names.contains(&n.name) {
                return Err(err("engine.noise.name", "clashes with a strategy name"));
            }
            fraction("engine.noise.order_prob", n.order_prob)?;
            fraction("engine.noise.limit_prob", n.limit_prob)?;
            positive("engine.noise.notional", n.notional)?;
            non_negative("engine.noise.max_offset_bps", n.max_offset_bps)?;
            positive("engine.noise.time_in_force_secs", n.time_in_force_secs)?;
            fraction("engine.noise.fat_finger_prob", n.fat_finger_prob)?;
            fraction("engine.noise.tiny_prob", n.tiny_prob)?;
        }
        let r = &self.risk;
        fraction("engine.risk.drawdown_warning", r.drawdown_warning)?;
        fraction("engine.risk.drawdown_critical", r.drawdown_critical)?;
        if r.drawdown_critical < r.drawdown_warning {
            return Err(err(
                "engine.risk.drawdown_critical",
                "must be >= drawdown_warning",
            ));
        }
        positive(
            "engine.risk.position_warning_notional",
            r.position_warning_notional,
        )?;
        positive("engine.risk.max_position_notional", r.max_position_notional)?;
        fraction("engine.risk.reject_rate_warning", r.reject_rate_warning)?;
        fraction("engine.risk.reject_rate_critical", r.reject_rate_critical)?;
        if r.reject_rate_critical < r.reject_rate_warning {
            return Err(err(
                "engine.risk.reject_rate_critical",
                "must be >= reject_rate_warning",
            ));
        }
        if r.reject_window == 0 {
            return Err(err("engine.risk.reject_window", "must be >= 1"));
        }
        positive(
            "engine.risk.disconnect_critical_secs",
            r.disconnect_critical_secs,
        )?;
        if r.var_window == 0 || r.var_window > 10_000_000 {
            return Err(err("engine.risk.var_window", "must be 1-10000000 returns"));
        }
        let days = self.journal.equity_retention_days;
        non_negative("engine.journal.equity_retention_days", days)?;
        let window_days = r.var_window as f64 * self.feed.bar_interval_secs / 86_400.0;
        if days > 0.0 && days < window_days {
            return Err(err(
                "engine.journal.equity_retention_days",
                format!(
                    "must cover engine.risk.var_window ({} bars = {window_days:.2} days of market time), or be 0 (keep every sample)",
                    r.var_window
                ),
            ));
        }
        Ok(())
    }
}
