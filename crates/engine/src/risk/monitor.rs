//! The risk monitor: turns portfolio facts into alerts at info/warning/critical levels on
//! configurable thresholds. Alerts fire on crossings (a level change), not on every bar, so the
//! alert counter measures incidents rather than time spent in them.

use std::collections::{BTreeMap, VecDeque};

use crate::config::RiskConfig;
use crate::domain::alerts::AlertLevel;

/// One alert to log, journal and emit.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Severity.
    pub level: AlertLevel,
    /// Explanation.
    pub message: String,
}

fn alert(level: AlertLevel, message: String) -> Alert {
    Alert { level, message }
}

/// Threshold state per risk dimension.
#[derive(Debug)]
pub struct RiskMonitor {
    cfg: RiskConfig,
    drawdown_level: Option<AlertLevel>,
    position_warned: BTreeMap<String, bool>,
    recent: VecDeque<bool>,
    reject_level: Option<AlertLevel>,
}

impl RiskMonitor {
    /// A monitor with no alert raised yet.
    pub fn new(cfg: RiskConfig) -> Self {
        Self {
            cfg,
            drawdown_level: None,
            position_warned: BTreeMap::new(),
            recent: VecDeque::new(),
            reject_level: None,
        }
    }

    /// The configured thresholds.
    pub fn config(&self) -> &RiskConfig {
        &self.cfg
    }

    fn drawdown_level_of(&self, max_dd: f64) -> Option<AlertLevel> {
        if max_dd >= self.cfg.drawdown_critical {
            Some(AlertLevel::Critical)
        } else if max_dd >= self.cfg.drawdown_warning {
            Some(AlertLevel::Warning)
        } else {
            None
        }
    }

    /// Sets the drawdown level silently (after a restart the alert was already raised).
    pub fn restore_drawdown(&mut self, max_dd: f64) {
        self.drawdown_level = self.drawdown_level_of(max_dd);
    }

    /// Checks the portfolio max drawdown (monotone, so only upward crossings alert).
    pub fn on_drawdown(&mut self, max_dd: f64) -> Option<Alert> {
        let level = self.drawdown_level_of(max_dd);
        if level > self.drawdown_level {
            self.drawdown_level = level;
            let l = level?;
            return Some(alert(
                l,
                format!(
                    "portfolio max drawdown {:.2}% crossed the {} threshold",
                    max_dd * 100.0,
                    l.as_str()
                ),
            ));
        }
        None
    }

    /// Checks one pair's |position| notional: warning above the threshold, info when back below.
    pub fn on_position(&mut self, pair: &str, notional: f64) -> Option<Alert> {
        let above = notional.abs() > self.cfg.position_warning_notional;
        let was = self
            .position_warned
            .insert(pair.to_string(), above)
            .unwrap_or(false);
        match (was, above) {
            (false, true) => Some(alert(
                AlertLevel::Warning,
                format!(
                    "{pair}: position notional {:.2} above {:.2}",
                    notional.abs(),
                    self.cfg.position_warning_notional
                ),
            )),
            (true, false) => Some(alert(
                AlertLevel::Info,
                format!("{pair}: position notional back below the warning threshold"),
            )),
            _ => None,
        }
    }

    /// Records a terminal order; alerts when the reject share of the recent window crosses a
    /// threshold (up: warning/critical; back below the warning threshold: info).
    pub fn on_terminal(&mut self, rejected: bool) -> Option<Alert> {
        self.recent.push_back(rejected);
        while self.recent.len() > self.cfg.reject_window {
            self.recent.pop_front();
        }
        if self.recent.len() < self.cfg.reject_window {
            return None;
        }
        let rate = self.recent.iter().filter(|r| **r).count() as f64 / self.recent.len() as f64;
        let level = if rate >= self.cfg.reject_rate_critical {
            Some(AlertLevel::Critical)
        } else if rate >= self.cfg.reject_rate_warning {
            Some(AlertLevel::Warning)
        } else {
            None
        };
        let prev = std::mem::replace(&mut self.reject_level, level);
        match (prev, level) {
            (p, Some(l)) if Some(l) > p => Some(alert(
                l,
                format!(
                    "reject rate {:.0}% over the last {} orders",
                    rate * 100.0,
                    self.recent.len()
                ),
            )),
            (Some(_), None) => Some(alert(
                AlertLevel::Info,
                format!("reject rate back to {:.0}%", rate * 100.0),
            )),
            _ => None,
        }
    }

    /// An exchange link went down.
    pub fn on_disconnect(&self, exchange: &str) -> Alert {
        alert(
            AlertLevel::Warning,
            format!("exchange {exchange} disconnected"),
        )
    }

    /// An exchange link is still down after `disconnect_critical_secs`.
    pub fn on_still_down(&self, exchange: &str) -> Alert {
        alert(
            AlertLevel::Critical,
            format!(
                "exchange {exchange} disconnected for more than {} s",
                self.cfg.disconnect_critical_secs
            ),
        )
    }

    /// An exchange link came back.
    pub fn on_reconnect(&self, exchange: &str) -> Alert {
        alert(AlertLevel::Info, format!("exchange {exchange} reconnected"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EngineConfig;

    #[test]
    fn alerts_fire_on_crossings_only() {
        let mut cfg = EngineConfig::default().risk;
        cfg.reject_window = 4;
        cfg.reject_rate_warning = 0.25;
        cfg.reject_rate_critical = 0.5;
        let mut r = RiskMonitor::new(cfg.clone());
        assert_eq!(r.on_drawdown(cfg.drawdown_warning / 2.0), None);
        assert_eq!(
            r.on_drawdown(cfg.drawdown_warning).unwrap().level,
            AlertLevel::Warning
        );
        assert_eq!(r.on_drawdown(cfg.drawdown_warning), None);
        assert_eq!(
            r.on_drawdown(cfg.drawdown_critical).unwrap().level,
            AlertLevel::Critical
        );
        for _ in 0..3 {
            assert_eq!(r.on_terminal(false), None);
        }
        assert_eq!(r.on_terminal(true).unwrap().level, AlertLevel::Warning);
        assert_eq!(r.on_terminal(true).unwrap().level, AlertLevel::Critical);
        assert_eq!(r.on_terminal(true), None);
        for _ in 0..3 {
            r.on_terminal(false);
        }
        assert_eq!(r.on_terminal(false).unwrap().level, AlertLevel::Info);
        assert_eq!(r.on_position("X", 1e9).unwrap().level, AlertLevel::Warning);
        assert_eq!(r.on_position("X", 1e9), None);
        assert_eq!(r.on_position("X", 0.0).unwrap().level, AlertLevel::Info);
    }
}
