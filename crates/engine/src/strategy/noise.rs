//! The noise trader: random small orders on random pairs and venues, so limit fills,
//! time-in-force cancels and rejects (outage, invalid quantity, risk limit) occur in every run.
//! It is an ordinary [`Strategy`] that answers explicit [`OrderIntent`]s; its draws come from a
//! stream keyed by (seed, tick), so the same seed gives the same orders, restarts included.

use serde::{Deserialize, Serialize};

use super::{Ctx, Intent, OrderIntent, Strategy};
use crate::domain::bars::Bar;
use crate::domain::orders::{OrderKind, OrderSide};
use crate::domain::rng::SplitMix64;

/// Random-stream tag of the noise order source.
const NOISE_TAG: u64 = 0x4e4f_4953_4500_0000;

/// The noise order source: random small orders on random pairs and venues, so limit fills,
/// time-in-force cancels and rejects (outage, invalid quantity, risk limit) occur in every run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseConfig {
    /// Whether it exists at all.
    pub enabled: bool,
    /// Its strategy name (a metric label).
    pub name: String,
    /// Probability of one order per bar.
    pub order_prob: f64,
    /// Share of limit orders (the rest are market orders).
    pub limit_prob: f64,
    /// Order size, quote currency.
    pub notional: f64,
    /// Limit prices are set up to this many basis points away from the last price (passive side).
    pub max_offset_bps: f64,
    /// Time in force of its limit orders, wall seconds.
    pub time_in_force_secs: f64,
    /// Probability that an order is 100x too large (a "fat finger", caught by the risk limit).
    pub fat_finger_prob: f64,
    /// Probability that an order is below the pair's `min_qty` (rejected: invalid quantity).
    pub tiny_prob: f64,
}

/// See the module header.
#[derive(Debug)]
pub struct NoiseTrader {
    cfg: NoiseConfig,
    seed: u64,
}

impl NoiseTrader {
    /// A noise trader drawing from `seed`.
    pub fn new(cfg: NoiseConfig, seed: u64) -> Self {
        Self { cfg, seed }
    }
}

impl Strategy for NoiseTrader {
    fn on_bar(&mut self, ctx: &Ctx, _bar: &Bar) -> Vec<Intent> {
        let n = &self.cfg;
        let mut rng = SplitMix64::keyed(self.seed, NOISE_TAG, ctx.tick);
        if !rng.chance(n.order_prob) || ctx.market.is_empty() || ctx.venues.is_empty() {
            return Vec::new();
        }
        let quote = &ctx.market[rng.index(ctx.market.len())];
        let venue = ctx.venues[rng.index(ctx.venues.len())].clone();
        let Some(mark) = quote.mark else {
            return Vec::new();
        };
        let pos = (ctx.positions)(&quote.pair);
        // Lean against the current position so the noise book mean-reverts.
        let lean = (pos * mark / (4.0 * n.notional)).clamp(-1.0, 1.0);
        let side = if rng.chance(0.5 - 0.4 * lean) {
            OrderSide::Buy
        } else {
            OrderSide::Sell
        };
        let min_qty = quote.min_qty;
        let fat = rng.chance(n.fat_finger_prob);
        let tiny = rng.chance(n.tiny_prob);
        let mut qty = ((n.notional / mark) / min_qty).round().max(1.0) * min_qty;
        if fat {
            qty *= 100.0;
        } else if tiny {
            qty = min_qty / 2.0;
        }
        let kind = if rng.chance(n.limit_prob) {
            let off = rng.uniform() * n.max_offset_bps / 10_000.0;
            let price = match side {
                OrderSide::Buy => mark * (1.0 - off),
                OrderSide::Sell => mark * (1.0 + off),
            };
            OrderKind::Limit {
                price,
                time_in_force_secs: Some(n.time_in_force_secs),
            }
        } else {
            OrderKind::Market
        };
        vec![Intent::Order(OrderIntent {
            pair: quote.pair.clone(),
            venue,
            side,
            kind,
            qty,
        })]
    }
}
