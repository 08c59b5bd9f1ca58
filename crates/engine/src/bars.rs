//! OHLCV bars: the unit of market data every feed, strategy and backtest works in.

/// One OHLCV bar. `time_ms` is the bar's open time in Unix milliseconds (UTC).
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Bar open time, Unix milliseconds, UTC.
    pub time_ms: i64,
    /// First traded price of the bar.
    pub open: f64,
    /// Highest price of the bar.
    pub high: f64,
    /// Lowest price of the bar.
    pub low: f64,
    /// Last traded price of the bar; strategies decide on it.
    pub close: f64,
    /// Traded base volume.
    pub volume: f64,
}
