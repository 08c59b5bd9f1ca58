//! Strategies: pure decision logic shared by the live engine and the `backtest` command.
//!
//! A strategy sees each bar at its close and answers the signed base quantity it wants to hold.
//! Turning that target into orders (and when they fill) is the caller's job: the backtest fills at
//! the next bar's open, the live engine sends market orders to a paper exchange.

pub mod mean_reversion;
pub mod sma_cross;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::bars::Bar;
pub use mean_reversion::MeanReversion;
pub use sma_cross::SmaCross;

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

/// Why a set of strategy parameters cannot run.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParamsError {
    /// A parameter is out of its range; the message names it.
    #[error("invalid strategy parameters: {0}")]
    Invalid(String),
}

impl StrategyParams {
    /// Checks the parameters before a strategy is built from them (config load, API, CLI), so
    /// a bad value is reported instead of silently never trading.
    pub fn validate(&self) -> Result<(), ParamsError> {
        let bad = |m: String| Err(ParamsError::Invalid(m));
        let qty = match self {
            StrategyParams::SmaCross {
                fast, slow, qty, ..
            } => {
                if *fast == 0 {
                    return bad("sma_cross: fast must be at least 1".into());
                }
                if slow <= fast {
                    return bad(format!(
                        "sma_cross: slow ({slow}) must be greater than fast ({fast})"
                    ));
                }
                *qty
            }
            StrategyParams::MeanReversion {
                window,
                entry_z,
                exit_z,
                qty,
            } => {
                if *window < 2 {
                    return bad("mean_reversion: window must be at least 2".into());
                }
                if !(entry_z.is_finite() && *entry_z > 0.0) {
                    return bad(format!("mean_reversion: entry_z ({entry_z}) must be > 0"));
                }
                if !(exit_z.is_finite() && *exit_z >= 0.0 && exit_z <= entry_z) {
                    return bad(format!(
                        "mean_reversion: exit_z ({exit_z}) must be in [0, entry_z]"
                    ));
                }
                *qty
            }
        };
        if !(qty.is_finite() && qty > 0.0) {
            return bad(format!("qty ({qty}) must be a positive number"));
        }
        Ok(())
    }
}

/// Builds a fresh strategy instance from its parameters (call [`StrategyParams::validate`]
/// first; invalid parameters build a strategy that may never trade).
pub fn build(params: &StrategyParams) -> Box<dyn Strategy> {
    match params {
        StrategyParams::SmaCross {
            fast,
            slow,
            mode,
            qty,
        } => Box::new(SmaCross::new(*fast, *slow, *mode, *qty)),
        StrategyParams::MeanReversion {
            window,
            entry_z,
            exit_z,
            qty,
        } => Box::new(MeanReversion::new(*window, *entry_z, *exit_z, *qty)),
    }
}
