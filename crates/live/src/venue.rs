//! The two venues and the candle intervals both of them publish, so a configuration naming
//! anything else fails at start with the list of what is allowed.

use std::fmt;

/// A venue whose public market data zigquant reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Venue {
    /// Hyperliquid perps (`wss://api.hyperliquid.xyz/ws`, `POST /info`).
    Hyperliquid,
    /// Binance spot (`wss://stream.binance.com:9443`, `GET /api/v3/klines`).
    Binance,
}

impl Venue {
    /// Both venues, in a fixed order.
    pub const ALL: [Venue; 2] = [Venue::Hyperliquid, Venue::Binance];

    /// The venue's name as configuration and the `exchange` metric label spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Venue::Hyperliquid => "hyperliquid",
            Venue::Binance => "binance",
        }
    }

    /// The venue named `name` (`"hyperliquid"` or `"binance"`).
    pub fn from_name(name: &str) -> Option<Venue> {
        Venue::ALL.into_iter().find(|v| v.as_str() == name)
    }
}

impl fmt::Display for Venue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A candle interval both venues publish (the intersection of their lists in docs/live.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interval {
    /// 1 minute.
    M1,
    /// 3 minutes.
    M3,
    /// 5 minutes.
    M5,
    /// 15 minutes.
    M15,
    /// 30 minutes.
    M30,
    /// 1 hour.
    H1,
    /// 4 hours.
    H4,
    /// 1 day.
    D1,
}

/// `bar_interval_secs` is not one of the intervals live venues publish.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "bar_interval_secs = {secs} is not a live candle interval; allowed: {}",
    Interval::allowed()
)]
pub struct IntervalError {
    /// The rejected value.
    pub secs: f64,
}

impl Interval {
    /// Every allowed interval, shortest first.
    pub const ALL: [Interval; 8] = [
        Interval::M1,
        Interval::M3,
        Interval::M5,
        Interval::M15,
        Interval::M30,
        Interval::H1,
        Interval::H4,
        Interval::D1,
    ];

    /// The interval of `secs` seconds, or an error listing the allowed values.
    pub fn from_secs(secs: f64) -> Result<Interval, IntervalError> {
        Interval::ALL
            .into_iter()
            .find(|i| i.secs() as f64 == secs)
            .ok_or(IntervalError { secs })
    }

    /// Length in seconds.
    pub fn secs(self) -> u64 {
        match self {
            Interval::M1 => 60,
            Interval::M3 => 180,
            Interval::M5 => 300,
            Interval::M15 => 900,
            Interval::M30 => 1800,
            Interval::H1 => 3600,
            Interval::H4 => 14_400,
            Interval::D1 => 86_400,
        }
    }

    /// Length in milliseconds (candle open times are milliseconds).
    pub fn millis(self) -> i64 {
        self.secs() as i64 * 1000
    }

    /// The interval as both venues spell it (`1m`, `4h`, `1d`).
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::M1 => "1m",
            Interval::M3 => "3m",
            Interval::M5 => "5m",
            Interval::M15 => "15m",
            Interval::M30 => "30m",
            Interval::H1 => "1h",
            Interval::H4 => "4h",
            Interval::D1 => "1d",
        }
    }

    /// The allowed values for an error message: `60 (1m), 180 (3m), ...`.
    pub fn allowed() -> String {
        Interval::ALL
            .iter()
            .map(|i| format!("{} ({})", i.secs(), i.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_published_intervals_are_accepted_and_the_error_names_them() {
        assert_eq!(Interval::from_secs(60.0), Ok(Interval::M1));
        assert_eq!(Interval::from_secs(14_400.0), Ok(Interval::H4));
        let err = Interval::from_secs(120.0).unwrap_err().to_string();
        assert!(err.contains("bar_interval_secs = 120"), "{err}");
        assert!(err.contains("60 (1m), 180 (3m), 300 (5m), 900 (15m), 1800 (30m), 3600 (1h), 14400 (4h), 86400 (1d)"), "{err}");
        assert!(Interval::from_secs(60.5).is_err());
    }

    #[test]
    fn venue_names_round_trip() {
        for v in Venue::ALL {
            assert_eq!(Venue::from_name(v.as_str()), Some(v));
        }
        assert_eq!(Venue::from_name("kraken"), None);
    }
}
