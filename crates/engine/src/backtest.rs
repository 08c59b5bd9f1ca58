//! The `backtest` command's engine: ANALYTICS.md §10 semantics over OHLCV bars.
