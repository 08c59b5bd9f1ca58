//! A venue candle, and the number parsing both venues need: prices and sizes arrive as JSON
//! strings (`"60123.5"`) but numbers are accepted too.

use serde::de::{self, Deserializer, Visitor};

/// One OHLCV candle as a venue publishes it. `open_time_ms` identifies it: a later update of the
/// same candle has the same open time.
#[derive(Clone, Debug, PartialEq)]
pub struct Candle {
    /// Open time, Unix milliseconds (the venue's `t`).
    pub open_time_ms: i64,
    /// First price.
    pub open: f64,
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Last price.
    pub close: f64,
    /// Base volume.
    pub volume: f64,
}

impl Candle {
    /// Whether the prices make a candle: finite, positive, low <= open/close <= high, volume >= 0.
    /// A candle failing this is `malformed` and never reaches a strategy.
    pub fn is_consistent(&self) -> bool {
        let prices = [self.open, self.high, self.low, self.close];
        prices.iter().all(|p| p.is_finite() && *p > 0.0)
            && self.volume.is_finite()
            && self.volume >= 0.0
            && self.low <= self.open.min(self.close)
            && self.high >= self.open.max(self.close)
    }
}

/// Deserializes an `f64` written either as a JSON number or as a string holding one.
pub(crate) fn number<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    struct NumberVisitor;
    impl Visitor<'_> for NumberVisitor {
        type Value = f64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a number or a string holding a number")
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            v.trim()
                .parse::<f64>()
                .map_err(|_| E::custom(format!("{v:?} is not a number")))
        }
    }
    d.deserialize_any(NumberVisitor)
}

/// Deserializes an `i64` millisecond time written as a JSON integer or a string holding one.
pub(crate) fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct MillisVisitor;
    impl Visitor<'_> for MillisVisitor {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an integer time in milliseconds")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom("time out of range"))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(v as i64)
            } else {
                Err(E::custom(format!("{v} is not an integer time")))
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            v.trim()
                .parse::<i64>()
                .map_err(|_| E::custom(format!("{v:?} is not an integer time")))
        }
    }
    d.deserialize_any(MillisVisitor)
}
