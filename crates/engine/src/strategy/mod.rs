//! Strategies: decision logic shared by the live engine and the `backtest` command.
//!
//! A strategy sees each bar at its close through [`Strategy::on_bar`] and answers with
//! [`Intent`]s: a target position in its own pair (the engine reconciles it into market or limit
//! orders as configured; the backtest fills it at the next open) or explicit orders (the noise
//! trader). Which kinds exist, how they are validated, built and how many bars they need to warm
//! up is said once, in [`registry`].

pub mod mean_reversion;
pub mod noise;
pub mod reconcile;
pub mod registry;
pub mod sma_cross;
pub mod window;

use serde::{Deserialize, Serialize};

use crate::domain::bars::Bar;
use crate::domain::ids::{PairId, VenueId};
use crate::domain::orders::{OrderKind, OrderSide};
pub use mean_reversion::MeanReversion;
pub use noise::NoiseTrader;
pub use registry::{build, ParamsError};
pub use sma_cross::SmaCross;

/// Decision logic for one strategy instance.
pub trait Strategy: Send {
    /// Called once per bar at its close (a whole-market strategy: once per tick, with the first
    /// pair's bar). Returns what it wants done; an empty vector leaves everything as it is.
    fn on_bar(&mut self, ctx: &Ctx, bar: &Bar) -> Vec<Intent>;
}

/// What a strategy sees besides the bar: where it stands and the market it may trade.
pub struct Ctx<'a> {
    /// Bar tick index (the key of per-tick random streams).
    pub tick: u64,
    /// The pair of the bar being decided on.
    pub pair: &'a PairId,
    /// This strategy's signed position in `pair`, base units.
    pub position: f64,
    /// Every configured pair, in configuration order.
    pub market: &'a [PairQuote],
    /// Every configured venue, in configuration order.
    pub venues: &'a [VenueId],
    /// This strategy's signed position in any pair.
    pub positions: &'a dyn Fn(&PairId) -> f64,
}

/// One pair as a strategy sees it.
#[derive(Clone, Debug)]
pub struct PairQuote {
    /// The pair.
    pub pair: PairId,
    /// Smallest order the venues accept, base units.
    pub min_qty: f64,
    /// Last price (`None` before its first bar).
    pub mark: Option<f64>,
}

/// What a strategy wants done after a bar.
#[derive(Clone, Debug, PartialEq)]
pub enum Intent {
    /// Hold this signed position in the strategy's own pair; the engine orders the difference.
    Target {
        /// Signed base quantity.
        qty: f64,
    },
    /// Send exactly this order.
    Order(OrderIntent),
}

/// An explicit order a strategy asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderIntent {
    /// Pair to trade.
    pub pair: PairId,
    /// Venue to send it to.
    pub venue: VenueId,
    /// Buy or sell.
    pub side: OrderSide,
    /// Market or limit (with its price and time in force).
    pub kind: OrderKind,
    /// Base quantity.
    pub qty: f64,
}

/// Whether a strategy may hold short positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Cross up opens a long, cross down closes it.
    LongOnly,
    /// Always in the market after the first cross: long on a cross up, short on a cross down.
    LongShort,
}

/// The kinds of strategy zigquant ships, with their parameters (config and CLI use this).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategyParams {
    /// Simple moving average crossover (docs/statistics.md §10).
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
