//! Strategies: pure decision logic shared by the live engine and the `backtest` command.
//!
//! A strategy sees each bar at its close and answers the signed base quantity it wants to hold.
//! Turning that target into orders (and when they fill) is the caller's job: the backtest fills at
//! the next bar's open, the live engine sends market orders to a paper exchange.

use serde::{Deserialize, Serialize};

use crate::bars::Bar;

/// Decision logic for one strategy instance on one pair.
pub trait Strategy: Send {
    /// Called once per bar at its close with the current signed position (base units).
    /// Returns the signed position it wants to hold from now on, or `None` to leave it as is.
    fn on_bar(&mut self, bar: &Bar, position: f64) -> Option<f64>;
}

/// Whether a strategy may hold short positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Cross up opens a long, cross down closes it.
    LongOnly,
    /// Always in the market after the first cross: long on a cross up, short on a cross down.
    LongShort,
}

/// The kinds of strategy zigquant ships, with their parameters (config and CLI use this).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategyParams {
    /// Simple moving average crossover (ANALYTICS.md §10).
    SmaCross {
        /// Fast SMA window, in bars.
        fast: usize,
        /// Slow SMA window, in bars (> fast).
        slow: usize,
        /// Long-only or long-short.
        mode: Mode,
        /// Base quantity per position.
        qty: f64,
    },
    /// Mean reversion on the z-score of the close against its rolling mean.
    MeanReversion {
        /// Rolling window, in bars.
        window: usize,
        /// Enter when |z| exceeds this (short above the mean, long below).
        entry_z: f64,
        /// Exit when |z| falls below this.
        exit_z: f64,
        /// Base quantity per position.
        qty: f64,
    },
}
